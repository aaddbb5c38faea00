// Allocation-free JSON syntax validator over raw UTF-8 bytes.
//
// isValidJson(buf, start, end) returns true exactly when
//   JSON.parse(Buffer.from(buf.subarray(start, end)).toString('utf8'))
// would succeed, without decoding to a string or building any value. It is meant to replace that
// call in the JSONL hot path (validateLines in ./worker.ts), where the parsed value is thrown away;
// there jsonLineEnd also finds where each good line ends, in the same pass.
//
// Equivalence notes (why byte-level checks match JSON.parse on the *decoded* string):
// - Whitespace is exactly JSON's four: space, \t, \n, \r. Anything else between tokens (including
//   U+FEFF from a leading UTF-8 BOM, NBSP, U+2028) makes JSON.parse throw, and every non-ASCII byte
//   outside a string is rejected here.
// - Inside strings any byte >= 0x80 is accepted: valid UTF-8 decodes to a code point >= U+0080 and
//   invalid UTF-8 decodes to U+FFFD, both of which JSON.parse allows unescaped (U+2028/2029 too).
//   The UTF-8 decoder never swallows an ASCII byte into a replacement character, so a '"' or '\'
//   byte is always seen by JSON.parse as that character, whatever bytes surround it.
// - Unescaped U+0000..U+001F inside strings are rejected; 0x7F (DEL) is allowed.
// - Escapes: \" \\ \/ \b \f \n \r \t and \uXXXX with any four hex digits (lone surrogates are fine).
// - Numbers: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)? ; nothing is said about magnitude (1e999 is
//   valid for JSON.parse: it yields Infinity).
// - Duplicate object keys are valid.
//
// Nesting: containers are tracked on a preallocated stack of MAX_DEPTH levels. V8's JSON.parse is
// iterative and accepts arbitrarily deep nesting (checked on Node 20: 10,000,000 levels parse), so a
// hard "false beyond the cap" would differ from JSON.parse. Instead, input nested deeper than
// MAX_DEPTH (pathological, never seen in real logs) falls back to JSON.parse itself, which keeps the
// result exact at every depth; only that rare path allocates.

/** Levels tracked without allocation; deeper input is handed to JSON.parse. */
export const MAX_DEPTH = 10_000

// One byte per open container: 1 = object, 0 = array. Module-level and reused: validation is
// synchronous and non-reentrant, so sharing it is safe (including across calls in one worker).
const stack = new Uint8Array(MAX_DEPTH)

// Byte classes for \uXXXX.
const HEX = new Uint8Array(256)
for (let c = 0x30; c <= 0x39; c++) HEX[c] = 1
for (let c = 0x41; c <= 0x46; c++) HEX[c] = 1
for (let c = 0x61; c <= 0x66; c++) HEX[c] = 1

// Bytes allowed right after a backslash: " \ / b f n r t (u is handled separately).
const ESC = new Uint8Array(256)
for (const c of [0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]) ESC[c] = 1

// Bytes that end the fast run inside a string: control characters, '"' and '\\'.
const STR_SPECIAL = new Uint8Array(256)
for (let c = 0; c < 0x20; c++) STR_SPECIAL[c] = 1
STR_SPECIAL[0x22] = 1
STR_SPECIAL[0x5c] = 1

// Parser states.
const S_VALUE = 0 // expect any value
const S_ARR_FIRST = 1 // just after '[': a value or ']'
const S_OBJ_FIRST = 2 // just after '{': a key or '}'
const S_KEY = 3 // after ',' in an object: a key
const S_COLON = 4 // after a key: ':'
const S_AFTER = 5 // after a value: ',' or the matching closer, or end of input at depth 0

/**
 * Scans a string body starting just after the opening quote. Returns the index just past the
 * closing quote, or -1 if the string is malformed or unterminated.
 */
function scanString(buf: Uint8Array, i: number, end: number): number {
  while (i < end) {
    // Fast path: run over ordinary bytes (including every byte >= 0x80) with one table lookup each.
    while (i < end && STR_SPECIAL[buf[i]!] === 0) i++
    if (i >= end) return -1
    const c = buf[i]!
    if (c === 0x22) return i + 1
    if (c === 0x5c) {
      if (++i >= end) return -1
      const e = buf[i]!
      if (e === 0x75) {
        if (i + 4 >= end) return -1 // need 4 hex digits and still a closing quote after them
        if ((HEX[buf[i + 1]!]! & HEX[buf[i + 2]!]! & HEX[buf[i + 3]!]! & HEX[buf[i + 4]!]!) === 0) return -1
        i += 5
      } else if (ESC[e] === 1) {
        i++
      } else {
        return -1
      }
    } else {
      return -1 // raw control character U+0000..U+001F
    }
  }
  return -1
}

/** Scans a number starting at its first byte ('-' or a digit). Returns the index just past it, or -1. */
function scanNumber(buf: Uint8Array, i: number, end: number): number {
  let c = buf[i]!
  if (c === 0x2d) {
    if (++i >= end) return -1
    c = buf[i]!
  }
  if (c === 0x30) {
    i++
  } else if (c >= 0x31 && c <= 0x39) {
    i++
    while (i < end && (c = buf[i]!) >= 0x30 && c <= 0x39) i++
  } else {
    return -1
  }
  if (i < end && buf[i] === 0x2e) {
    i++
    if (i >= end || (c = buf[i]!) < 0x30 || c > 0x39) return -1
    i++
    while (i < end && (c = buf[i]!) >= 0x30 && c <= 0x39) i++
  }
  if (i < end && (buf[i]! | 0x20) === 0x65) {
    i++
    if (i < end && ((c = buf[i]!) === 0x2b || c === 0x2d)) i++
    if (i >= end || (c = buf[i]!) < 0x30 || c > 0x39) return -1
    i++
    while (i < end && (c = buf[i]!) >= 0x30 && c <= 0x39) i++
  }
  return i
}

/** Exact but allocating: used only for input nested deeper than MAX_DEPTH. Returns what `scan` returns. */
function parseFallback(buf: Uint8Array, start: number, end: number, lineEnds: boolean): number {
  if (lineEnds) {
    const nl = buf.indexOf(0x0a, start)
    if (nl !== -1 && nl < end) end = nl
  }
  try {
    JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('utf8'))
    return end
  } catch {
    return -1
  }
}

/**
 * True exactly when `JSON.parse(Buffer.from(buf.subarray(start, end)).toString('utf8'))` would
 * succeed. `start`/`end` are clamped to [0, buf.length]; an empty range is invalid (as for '').
 * Allocates nothing (except for input nested deeper than MAX_DEPTH, see the module comment).
 */
export function isValidJson(buf: Uint8Array, start: number, end: number): boolean {
  return scan(buf, start, end, false) >= 0
}

/**
 * The line at `start` (up to its first '\n', or `end`) in one pass: the index of that '\n' (or `end`)
 * when the line is valid JSON, exactly as `isValidJson(buf, start, nl)` decides; -1 when it is not, and then
 * nothing is said about where the line ends. validateLines finds the ends of good lines this way instead of
 * a native indexOf call per line (the validator reads every byte of the line anyway).
 */
export function jsonLineEnd(buf: Uint8Array, start: number, end: number): number {
  return scan(buf, start, end, true)
}

/**
 * The validator. With `lineEnds`, a '\n' outside a string ends the input (a raw one inside a string is
 * invalid either way, so the verdict is that of the bytes before it); without, it is whitespace. Returns
 * where the input ended (`end`, or that '\n') when it is valid JSON, else -1.
 */
function scan(buf: Uint8Array, start: number, end: number, lineEnds: boolean): number {
  if (start < 0) start = 0
  if (end > buf.length) end = buf.length
  let i = start
  let depth = 0
  let state = S_VALUE
  let c = 0
  for (;;) {
    while (i < end && ((c = buf[i]!) === 0x20 || c === 0x0d || c === 0x09 || (c === 0x0a && !lineEnds))) i++
    if (i >= end || c === 0x0a) return state === S_AFTER && depth === 0 ? i : -1
    switch (state) {
      case S_AFTER:
        if (depth === 0) return -1 // trailing garbage after a complete top-level value
        if (c === 0x2c) {
          state = stack[depth - 1] === 1 ? S_KEY : S_VALUE
          i++
          continue
        }
        if (c === 0x5d ? stack[depth - 1] === 0 : c === 0x7d && stack[depth - 1] === 1) {
          depth--
          i++
          continue
        }
        return -1
      case S_COLON:
        if (c !== 0x3a) return -1
        state = S_VALUE
        i++
        continue
      case S_OBJ_FIRST:
        if (c === 0x7d) {
          depth--
          state = S_AFTER
          i++
          continue
        }
      // falls through: a key
      case S_KEY:
        if (c !== 0x22) return -1
        i = scanString(buf, i + 1, end)
        if (i < 0) return -1
        state = S_COLON
        continue
      case S_ARR_FIRST:
        if (c === 0x5d) {
          depth--
          state = S_AFTER
          i++
          continue
        }
      // falls through: a value
      default: // S_VALUE
        switch (c) {
          case 0x22: // "
            i = scanString(buf, i + 1, end)
            if (i < 0) return -1
            state = S_AFTER
            continue
          case 0x7b: // {
            if (depth === MAX_DEPTH) return parseFallback(buf, start, end, lineEnds)
            stack[depth++] = 1
            state = S_OBJ_FIRST
            i++
            continue
          case 0x5b: // [
            if (depth === MAX_DEPTH) return parseFallback(buf, start, end, lineEnds)
            stack[depth++] = 0
            state = S_ARR_FIRST
            i++
            continue
          case 0x74: // true
            if (i + 3 >= end || buf[i + 1] !== 0x72 || buf[i + 2] !== 0x75 || buf[i + 3] !== 0x65) return -1
            i += 4
            state = S_AFTER
            continue
          case 0x66: // false
            if (i + 4 >= end || buf[i + 1] !== 0x61 || buf[i + 2] !== 0x6c || buf[i + 3] !== 0x73 || buf[i + 4] !== 0x65) return -1
            i += 5
            state = S_AFTER
            continue
          case 0x6e: // null
            if (i + 3 >= end || buf[i + 1] !== 0x75 || buf[i + 2] !== 0x6c || buf[i + 3] !== 0x6c) return -1
            i += 4
            state = S_AFTER
            continue
          case 0x2d: case 0x30: case 0x31: case 0x32: case 0x33: case 0x34:
          case 0x35: case 0x36: case 0x37: case 0x38: case 0x39:
            i = scanNumber(buf, i, end)
            if (i < 0) return -1
            state = S_AFTER
            continue
          default:
            return -1
        }
    }
  }
}
