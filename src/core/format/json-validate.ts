// JSON syntax validation over raw UTF-8 bytes, without decoding to a string or building any value.
//
// A text is valid exactly when
//   JSON.parse(Buffer.from(bytes).toString('utf8'))
// would succeed. pack throws the parsed value away, so it judges each JSONL line this way instead (about 4x
// faster than JSON.parse in JavaScript, and 2x faster than the same state machine written in JavaScript, which
// this replaced). The validator is WebAssembly compiled from ./wasm/json-validate.as.ts, whose header gives the
// byte-level rules and why they match JSON.parse on the decoded string. Each thread instantiates it on first use;
// input is copied into its memory, which grows to the largest chunk judged and is kept for the next.
//
// Nesting beyond MAX_DEPTH (pathological, never seen in real logs) is judged by JSON.parse itself: V8's parser
// accepts any depth (10,000,000 levels parse on Node 20), so a hard cap would differ from it.
import { MaifError } from '../errors.js'
import { JSON_VALIDATE_WASM } from './wasm/json-validate.wasm.js'

/** Levels of nesting the validator tracks; deeper input is handed to JSON.parse. */
export const MAX_DEPTH = 10_000

// The few WebAssembly types used here: the project's TypeScript libs (ES2022, Node's) do not declare them.
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object) => { exports: object }
}

interface Validator {
  memory: { buffer: ArrayBuffer; grow(pages: number): number }
  MAX_DEPTH: { value: number }
  validateLines(data: number, len: number, ends: number, verdicts: number): number
  validateOne(data: number, len: number): number
}

// Memory layout: the validator's stack of open containers (MAX_DEPTH bytes), then the input, then one line end (u32)
// and one verdict (u8) for each line, as many as the input has bytes in the worst case. Only the pages written are
// ever touched: a 1 MiB chunk of agent records uses 14 KB of the 5 MiB set aside for its lines.
const INPUT = 16_384
const PAGE = 65_536
const BAD = 1
const DEEP = 2

let validator: Validator | undefined

/** This thread's instance, made on first use: the hashing workers never need one. */
function instance(): Validator {
  if (validator) return validator
  const bytes = Buffer.from(JSON_VALIDATE_WASM, 'base64')
  const v = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as unknown as Validator
  // The fallback to JSON.parse starts where the module stops tracking: both must mean the same depth.
  if (v.MAX_DEPTH.value !== MAX_DEPTH) throw new Error(`the JSON validator's module tracks ${v.MAX_DEPTH.value} levels, not ${MAX_DEPTH}: rebuild it (npm run build:wasm)`)
  return (validator = v)
}

/** Memory for `len` bytes of input and the answers about its lines, grown to it if need be. */
function reserve(v: Validator, len: number, lines: number): void {
  const need = INPUT + len + 8 + lines * 5 - v.memory.buffer.byteLength
  if (need <= 0) return
  try {
    v.memory.grow(Math.ceil(need / PAGE))
  } catch (err) {
    throw new MaifError('MAIF_ERR_RECORD_TOO_LARGE', `${len} bytes of JSON at once are more than the validator's memory can take; lower maxLineLength`, { cause: err })
  }
}

/** JSON.parse's own verdict, for input nested deeper than MAX_DEPTH. */
function parses(buf: Uint8Array, start: number, end: number): boolean {
  try {
    JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('utf8'))
    return true
  } catch {
    return false
  }
}

/**
 * True exactly when `JSON.parse(Buffer.from(buf.subarray(start, end)).toString('utf8'))` would
 * succeed. `start`/`end` are clamped to [0, buf.length]; an empty range is invalid (as for '').
 */
export function isValidJson(buf: Uint8Array, start: number, end: number): boolean {
  if (start < 0) start = 0
  if (end > buf.length) end = buf.length
  if (end <= start) return false
  const v = instance()
  const len = end - start
  reserve(v, len, 0)
  new Uint8Array(v.memory.buffer, INPUT, len).set(buf.subarray(start, end))
  const r = v.validateOne(INPUT, len)
  return r === DEEP ? parses(buf, start, end) : r === 1
}

/**
 * The lines of a chunk, judged: `ends[k]` is where line k's '\n' is (or the chunk's length), `bad[k]` is 1 when
 * the line is not valid JSON. Both are views into the validator's memory, good until its next call on this thread:
 * a worker judges a chunk without allocating anything of its own.
 */
export interface JudgedLines { count: number; ends: Uint32Array; bad: Uint8Array }

/**
 * Splits `data` on '\n' and judges each line as `isValidJson` would (a last line without '\n' counts; nothing
 * after a final '\n' does), in one pass over the bytes. An empty line is not valid JSON.
 */
export function judgeLines(data: Uint8Array): JudgedLines {
  const v = instance()
  const len = data.length
  // A line is at least its '\n', so there are at most len + 1 of them (none for an empty chunk).
  reserve(v, len, len + 1)
  new Uint8Array(v.memory.buffer, INPUT, len).set(data)
  const endsAt = (INPUT + len + 3) & ~3
  const badAt = endsAt + 4 * (len + 1)
  const count = v.validateLines(INPUT, len, endsAt, badAt)
  const ends = new Uint32Array(v.memory.buffer, endsAt, count)
  const bad = new Uint8Array(v.memory.buffer, badAt, count)
  for (let k = 0; k < count; k++) {
    // Nested too deep for the module: JSON.parse judges the line itself.
    if (bad[k] === DEEP) bad[k] = parses(data, k === 0 ? 0 : ends[k - 1]! + 1, ends[k]!) ? 0 : BAD
  }
  return { count, ends, bad }
}
