// The JSON line validator, in AssemblyScript, compiled to WebAssembly with SIMD (128-bit) instructions.
// `npm run build:wasm` compiles it into ./json-validate.wasm.ts; test/json-validate-wasm-in-step.test.ts checks that
// the bytes there are what this source compiles to. ../json-validate.ts loads it and says what it must agree with.
//
// Why WebAssembly: pack's workers spent 1.0 s of CPU validating each GiB of JSON lines for every 1.4 s compressing
// it. The same byte-level state machine in JavaScript ran 575 MB/s on the bench's agent records; here it runs at
// about twice that, copying each chunk in included. String bodies, three quarters of a record's bytes, are skipped
// 16 bytes at a time; JavaScript has no such instruction, and 4-byte words measured no faster than bytes on these
// records' strings (11 bytes on average).
//
// Exactness, in ../json-validate.ts's words: a text is valid exactly when JSON.parse of its UTF-8 decoding succeeds.
// - Whitespace is JSON's four (space, \t, \n, \r); any other byte between tokens, every byte >= 0x80 included,
//   is an error (U+FEFF, NBSP and U+2028 make JSON.parse throw too).
// - Inside strings every byte >= 0x80 is accepted: valid UTF-8 decodes to a code point >= U+0080, and invalid UTF-8
//   to U+FFFD, which JSON.parse allows unescaped. The decoder never swallows an ASCII byte into U+FFFD, so a '"' or
//   '\\' byte is always that character to JSON.parse.
// - Unescaped U+0000..U+001F in strings are errors; 0x7F is not.
// - Escapes: \" \\ \/ \b \f \n \r \t and \\uXXXX with any four hex digits (lone surrogates are fine).
// - Numbers: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?, any magnitude (1e999 parses, to Infinity).
// - Containers nest up to MAX_DEPTH here; deeper input is reported as DEEP and judged by JSON.parse itself, which
//   accepts any depth.
//
// Memory: [0, MAX_DEPTH) is the stack of open containers, one byte each (1 = object, 0 = array); the caller puts
// input and output above it.

/** Levels of nesting judged here; ../json-validate.ts exports the same figure. */
export const MAX_DEPTH: i32 = 10000
const STACK: usize = 0 // MAX_DEPTH bytes: 1 = object, 0 = array
/** What scanLine returns for input nested deeper than MAX_DEPTH. */
const DEEP: i32 = -2

// @ts-ignore: decorator
@inline function isHex(c: u32): bool {
  return (c - 0x30 < 10) || ((c | 0x20) - 0x61 < 6)
}

/** The string body from `i` (just past its opening quote): the index just past its closing quote, or -1. */
function scanString(i: usize, end: usize): isize {
  const quote = i8x16.splat(0x22)
  const bslash = i8x16.splat(0x5c)
  const ctl = i8x16.splat(0x20)
  while (true) {
    // To the next byte that is '"', '\\' or a control character: 16 bytes at a time, then one by one near the end.
    if (i + 16 <= end) {
      const v = v128.load(i)
      const bits = i8x16.bitmask(v128.or(v128.or(i8x16.eq(v, quote), i8x16.eq(v, bslash)), i8x16.lt_u(v, ctl)))
      if (bits == 0) {
        i += 16
        continue
      }
      i += <usize>ctz(bits)
    } else {
      while (i < end) {
        const c = <u32>load<u8>(i)
        if (c == 0x22 || c == 0x5c || c < 0x20) break
        i++
      }
      if (i >= end) return -1
    }
    const c = <u32>load<u8>(i)
    if (c == 0x22) return <isize>(i + 1)
    if (c != 0x5c) return -1 // a raw control character
    i++
    if (i >= end) return -1
    const e = <u32>load<u8>(i)
    if (e == 0x75) {
      if (i + 4 >= end) return -1 // four hex digits, and still a closing quote after them
      if (!(isHex(<u32>load<u8>(i + 1)) && isHex(<u32>load<u8>(i + 2)) && isHex(<u32>load<u8>(i + 3)) && isHex(<u32>load<u8>(i + 4)))) return -1
      i += 5
    } else if (e == 0x22 || e == 0x5c || e == 0x2f || e == 0x62 || e == 0x66 || e == 0x6e || e == 0x72 || e == 0x74) {
      i++
    } else {
      return -1
    }
  }
  return -1
}

// @ts-ignore: decorator
@inline function isDigit(c: u32): bool { return c - 0x30 < 10 }

function scanNumber(i: usize, end: usize): isize {
  let c = <u32>load<u8>(i)
  if (c == 0x2d) {
    if (++i >= end) return -1
    c = <u32>load<u8>(i)
  }
  if (c == 0x30) {
    i++
  } else if (c - 0x31 < 9) {
    i++
    while (i < end && isDigit(<u32>load<u8>(i))) i++
  } else {
    return -1
  }
  if (i < end && load<u8>(i) == 0x2e) {
    i++
    if (i >= end || !isDigit(<u32>load<u8>(i))) return -1
    i++
    while (i < end && isDigit(<u32>load<u8>(i))) i++
  }
  if (i < end && (<u32>load<u8>(i) | 0x20) == 0x65) {
    i++
    if (i < end && ((c = <u32>load<u8>(i)) == 0x2b || c == 0x2d)) i++
    if (i >= end || !isDigit(<u32>load<u8>(i))) return -1
    i++
    while (i < end && isDigit(<u32>load<u8>(i))) i++
  }
  return <isize>i
}

// @ts-ignore: decorator
@inline function isWs(c: u32, lineEnds: bool): bool {
  return c == 0x20 || c == 0x0d || c == 0x09 || (c == 0x0a && !lineEnds)
}

/** Past the whitespace at `i`; with `lineEnds`, '\n' ends the text instead. */
// @ts-ignore: decorator
@inline function skipWs(i: usize, end: usize, lineEnds: bool): usize {
  while (i < end && isWs(<u32>load<u8>(i), lineEnds)) i++
  return i
}

/** An object member's key and its ':' from `i` (at the key's opening quote, after whitespace); where its value may start, or -1. */
// @ts-ignore: decorator
@inline function scanKey(i: usize, end: usize, lineEnds: bool): isize {
  if (i >= end || load<u8>(i) != 0x22) return -1
  const r = scanString(i + 1, end)
  if (r < 0) return -1
  i = skipWs(<usize>r, end, lineEnds)
  if (i >= end || load<u8>(i) != 0x3a) return -1
  return <isize>(i + 1)
}

/**
 * Where the text at `start` ends ('\n' with `lineEnds`, else `end`) when it is valid JSON; -1 when not; DEEP when
 * nested beyond MAX_DEPTH. Two alternating steps: a value, then what may follow it (',' and the next member or
 * element, a closer, or the end).
 */
function scanLine(start: usize, end: usize, lineEnds: bool): isize {
  let i = start
  let depth: i32 = 0
  while (true) {
    // A value.
    i = skipWs(i, end, lineEnds)
    if (i >= end) return -1
    let c = <u32>load<u8>(i)
    if (c == 0x22) {
      const r = scanString(i + 1, end)
      if (r < 0) return -1
      i = <usize>r
    } else if (c == 0x7b || c == 0x5b) {
      // An object or an array: empty, or its first member or element comes next.
      if (depth == MAX_DEPTH) return DEEP
      const isObject = c == 0x7b
      store<u8>(STACK + <usize>depth, isObject ? 1 : 0)
      depth++
      i = skipWs(i + 1, end, lineEnds)
      if (i < end && <u32>load<u8>(i) == (isObject ? <u32>0x7d : <u32>0x5d)) {
        depth--
        i++
      } else {
        if (isObject) {
          const r = scanKey(i, end, lineEnds)
          if (r < 0) return -1
          i = <usize>r
        }
        continue
      }
    } else if (c == 0x74) {
      if (i + 3 >= end || load<u8>(i + 1) != 0x72 || load<u8>(i + 2) != 0x75 || load<u8>(i + 3) != 0x65) return -1
      i += 4
    } else if (c == 0x66) {
      if (i + 4 >= end || load<u8>(i + 1) != 0x61 || load<u8>(i + 2) != 0x6c || load<u8>(i + 3) != 0x73 || load<u8>(i + 4) != 0x65) return -1
      i += 5
    } else if (c == 0x6e) {
      if (i + 3 >= end || load<u8>(i + 1) != 0x75 || load<u8>(i + 2) != 0x6c || load<u8>(i + 3) != 0x6c) return -1
      i += 4
    } else if (c == 0x2d || c - 0x30 < 10) {
      const r = scanNumber(i, end)
      if (r < 0) return -1
      i = <usize>r
    } else {
      return -1
    }
    // What follows a value: closers, until a ',' starts the next member or element.
    while (true) {
      i = skipWs(i, end, lineEnds)
      if (i >= end || load<u8>(i) == 0x0a) return depth == 0 ? <isize>i : -1
      if (depth == 0) return -1 // trailing garbage after a complete top-level value
      c = <u32>load<u8>(i)
      const top = load<u8>(STACK + <usize>(depth - 1))
      if (c == 0x2c) {
        i++
        if (top == 1) {
          const r = scanKey(skipWs(i, end, lineEnds), end, lineEnds)
          if (r < 0) return -1
          i = <usize>r
        }
        break
      }
      if (c == (top == 1 ? <u32>0x7d : <u32>0x5d)) {
        depth--
        i++
        continue
      }
      return -1
    }
  }
  return -1
}

function nextNewline(i: usize, end: usize): usize {
  const nl = i8x16.splat(0x0a)
  while (i + 16 <= end) {
    const bits = i8x16.bitmask(i8x16.eq(v128.load(i), nl))
    if (bits != 0) return i + <usize>ctz(bits)
    i += 16
  }
  while (i < end && load<u8>(i) != 0x0a) i++
  return i
}

/**
 * Splits the `len` bytes at `data` into lines and judges each. For line k, the u32 at ends + 4k is the offset of its
 * '\n' (or `len`), and the byte at verdicts + k is 0 when the line is valid JSON, 1 when it is not, and 2 when it is
 * nested deeper than MAX_DEPTH, for the caller to judge. Returns the number of lines: a last line without '\n'
 * counts, nothing after a final '\n' does. The caller leaves room for len + 1 lines (a line is at least its '\n').
 */
export function validateLines(data: usize, len: u32, ends: usize, verdicts: usize): u32 {
  const end = data + <usize>len
  let start = data
  let n: u32 = 0
  while (start < end) {
    const r = scanLine(start, end, true)
    let nl: usize
    let verdict: u8 = 0
    if (r >= 0) {
      nl = <usize>r
    } else {
      nl = nextNewline(start, end)
      verdict = r == DEEP ? 2 : 1
    }
    store<u32>(ends + (<usize>n << 2), <u32>(nl - data))
    store<u8>(verdicts + <usize>n, verdict)
    n++
    start = nl + 1
  }
  return n
}

/** Judges the `len` bytes at `data` as one JSON text, '\n' being whitespace: 1 valid, 0 not, 2 nested too deep. */
export function validateOne(data: usize, len: u32): i32 {
  const r = scanLine(data, data + <usize>len, false)
  return r == DEEP ? 2 : r >= 0 ? 1 : 0
}
