import t from 'tap'
import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { isValidJson, MAX_DEPTH } from '../src/core/format/json-validate.js'

/** The reference: what validateLines does today. */
function reference(buf: Uint8Array, start: number, end: number): boolean {
  try {
    JSON.parse(Buffer.from(buf.subarray(start, end)).toString('utf8'))
    return true
  } catch {
    return false
  }
}

const bytesOf = (s: string | Uint8Array): Uint8Array => (typeof s === 'string' ? Buffer.from(s, 'utf8') : s)
const whole = (s: string | Uint8Array): boolean => {
  const b = bytesOf(s)
  return isValidJson(b, 0, b.length)
}
// Test names must stay on one TAP line: escape everything outside printable ASCII (U+2028 included).
const show = (s: string | Uint8Array): string =>
  typeof s === 'string'
    ? JSON.stringify(s).replace(/[^\x20-\x7e]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)
    : `bytes[${Buffer.from(s).toString('hex')}]`

// ---------------------------------------------------------------------------------------------
// (1) Table of tricky cases. Every expectation is also cross-checked against JSON.parse.
// ---------------------------------------------------------------------------------------------

const bytes = (...parts: Array<string | number[]>): Uint8Array =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))))

const table: Array<[input: string | Uint8Array, expected: boolean]> = [
  // numbers
  ['0', true], ['-0', true], ['1E5', true], ['1e5', true], ['1e+5', true], ['1e-5', true], ['-1.5e-3', true],
  ['123', true], ['0.0', true], ['1e999', true], ['-0.0e0', true], ['12345678901234567890123', true],
  ['01', false], ['-01', false], ['00', false], ['-', false], ['1.', false], ['.5', false], ['1e', false],
  ['1e+', false], ['1e-', false], ['+1', false], ['1.e5', false], ['1.5e', false], ['--1', false], ['0x10', false],
  ['1 2', false], ['NaN', false], ['Infinity', false], ['-Infinity', false], ['1_000', false], ['1.5.5', false],
  ['[01]', false], ['[-]', false], ['{"a":1.}', false], ['[1e]', false], ['[1,]', false], ['-a', false],
  // literals
  ['true', true], ['false', true], ['null', true], ['tru', false], ['nulll', false], ['True', false],
  ['nul', false], ['fals', false], ['falsey', false], ['t', false], ['[tru]', false], ['nullnull', false],
  ['undefined', false], ['[true,false,null]', true],
  // strings
  ['""', true], ['"abc"', true], ['"\\"\\\\\\/\\b\\f\\n\\r\\t"', true], ['"\\u0041"', true], ['"\\uD800"', true],
  ['"\\uDC00\\uD800"', true], ['"\\uabcd\\uABCD\\u0000"', true], ['"\\x41"', false], ['"\\u12"', false],
  ['"\\u12"x', false], ['"\\u12g4"', false], ['"\\U0041"', false], ['"\\a"', false], ['"\\0"', false], ['"\\\'"', false],
  ['"\\', false], ['"\\"', false], ['"abc', false], ['"', false], ["'a'", false], ['"a"b"', false], ['"a""b"', false],
  ['"\u007f"', true], ['"\u2028\u2029"', true], ['"\u00e9\u4e2d\u{1F600}"', true], ['"\ufeff"', true],
  [bytes('"', [0xed, 0xa0, 0x80], '"'), true], // UTF-8-encoded lone surrogate -> U+FFFD
  [bytes('"', [0xff, 0xfe, 0x80], '"'), true], // invalid UTF-8 -> U+FFFD inside a string
  [bytes('"', [0xe2], '"'), true], // truncated sequence followed by the closing quote
  [bytes('"', [0xf0, 0x9f], '"'), true],
  [bytes('"a', [0xc3]), false], // unterminated
  [bytes([0xef, 0xbb, 0xbf], '{}'), false], // BOM -> U+FEFF
  [bytes([0xc2, 0xa0], '1'), false], // NBSP is not JSON whitespace
  [bytes('1', [0xe2, 0x80, 0xa8]), false], // U+2028 outside a string
  [bytes([0x80]), false], [bytes('[', [0xff], ']'), false], [bytes('{"a":1}', [0xff]), false],
  ['"\u0080"', true], ['"\u00ff"', true],
  // whitespace
  ['', false], [' ', false], ['\n', false], [' \t\r\n1 \t\r\n', true], ['\r\n[\r\n1\r\n,\r\n2\r\n]\r\n', true],
  ['\v1', false], ['\f1', false], ['1\v', false], ['\u00a01', false], ['{ "a" : 1 , "b" : [ ] }', true],
  ['" "', true], ['"\t"', false], ['"\n"', false], ['"\r"', false],
  // nesting
  ['{}', true], ['[]', true], ['[[]]', true], ['{"a":{}}', true], ['[{}, [], {"a": [1, {"b": null}]}]', true],
  ['[', false], [']', false], ['{', false], ['}', false], ['[}', false], ['{]', false], ['[[]', false], ['[]]', false],
  ['[1,]', false], ['[,1]', false], ['[,]', false], ['[1 2]', false], ['[1,,2]', false], ['{"a":1,}', false],
  ['{,}', false], ['{"a"}', false], ['{"a" 1}', false], ['{"a"::1}', false], ['{"a":}', false], ['{:1}', false],
  ['{a:1}', false], ["{'a':1}", false], ['{1:1}', false], ['{"a":1 "b":2}', false], ['{"a":1,"a":2}', true],
  ['{"":""}', true], ['{}{}', false], ['[][]', false], ['{} x', false], ['[1]2', false], ['{"a":[}', false],
  ['{"a":1]', false], ['[{"a":1]}', false], ['{"a":{"b":[1,2,{"c":"d"}]}}', true], ['[null,]', false],
]
for (let c = 0; c < 0x20; c++) {
  table.push([`"${String.fromCharCode(c)}"`, false]) // raw control char inside a string
  table.push([`"a${String.fromCharCode(c)}b"`, false])
  table.push([`"\\u${c.toString(16).padStart(4, '0')}"`, true]) // ...but escaped it is fine
}

t.test('table of tricky cases', async (t) => {
  for (const [input, expected] of table) {
    const b = bytesOf(input)
    t.equal(reference(b, 0, b.length), expected, `reference agrees with the table: ${show(input)}`)
    t.equal(whole(input), expected, show(input))
  }
})

t.test('ranges: start/end inside a larger buffer, and a non-zero byteOffset', async (t) => {
  const line = Buffer.from('xx{"a":[1,2]}yy')
  t.equal(isValidJson(line, 2, 13), true)
  t.equal(isValidJson(line, 2, 12), false)
  t.equal(isValidJson(line, 1, 13), false)
  t.equal(isValidJson(line, 2, 14), false)
  t.equal(isValidJson(line, 5, 5), false, 'empty range')
  const big = Buffer.from('....."\\u00e9"....')
  const view = big.subarray(5, 13)
  t.equal(isValidJson(view, 0, view.length), true)
  t.equal(isValidJson(view, 0, view.length - 1), false)
  // the scanner must not read past `end` into bytes that would complete a token
  t.equal(isValidJson(Buffer.from('tru e'), 0, 3), false)
  t.equal(isValidJson(Buffer.from('"\\u004"1'), 0, 7), false)
  t.equal(isValidJson(Buffer.from('1e5'), 0, 2), false)
  t.equal(isValidJson(Buffer.from('-1'), 0, 1), false)
})

t.test('deep nesting matches JSON.parse on both sides of MAX_DEPTH', async (t) => {
  for (const n of [1, 100, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, 50_000]) {
    const arr = '['.repeat(n) + ']'.repeat(n)
    const obj = '{"k":'.repeat(n) + '0' + '}'.repeat(n)
    const mixed = '[{"k":'.repeat(n) + '0' + '}]'.repeat(n)
    for (const s of [arr, obj, mixed]) {
      t.equal(whole(s), true, `depth ${n} valid (${s.slice(0, 6)}…)`)
      t.equal(whole(s.slice(0, -1)), false, `depth ${n} unclosed`)
      t.equal(whole(s + ']'), false, `depth ${n} extra closer`)
    }
  }
})

// ---------------------------------------------------------------------------------------------
// (2) Properties against JSON.parse.
// ---------------------------------------------------------------------------------------------

const WS = [' ', '\t', '\n', '\r']
/** JSON.stringify, but with whitespace (drawn cyclically from `ws`) around every token. */
function stringifyWithWs(value: unknown, ws: string[]): string {
  let k = 0
  const w = (): string => (ws.length === 0 ? '' : ws[k++ % ws.length]!)
  const go = (v: unknown): string => {
    if (Array.isArray(v)) return w() + '[' + w() + v.map((x) => go(x)).join(w() + ',' + w()) + w() + ']' + w()
    if (v !== null && typeof v === 'object') {
      const parts = Object.entries(v).map(([key, x]) => w() + JSON.stringify(key) + w() + ':' + go(x))
      return w() + '{' + w() + parts.join(w() + ',') + w() + '}' + w()
    }
    return w() + JSON.stringify(v) + w()
  }
  return go(value)
}

const wsArb = fc.array(fc.string({ unit: fc.constantFrom(...WS), maxLength: 3 }), { maxLength: 8 })

t.test('stringified fc.jsonValue() is always valid (with and without extra whitespace)', async (t) => {
  fc.assert(
    fc.property(fc.jsonValue(), wsArb, (v, ws) => {
      const plain = Buffer.from(JSON.stringify(v), 'utf8')
      const spaced = Buffer.from(stringifyWithWs(v, ws), 'utf8')
      const pretty = Buffer.from(JSON.stringify(v, null, 2), 'utf8')
      return isValidJson(plain, 0, plain.length) && isValidJson(spaced, 0, spaced.length) && isValidJson(pretty, 0, pretty.length)
    }),
    { numRuns: 10_000 },
  )
  t.pass('10,000 values')
})

// Bytes that matter to the grammar, so mutations often land near the accept/reject boundary.
const interesting = [...Buffer.from('{}[],:"\\ \t\n\r0123456789-+.eEtrufalsn/bu'), 0x00, 0x1f, 0x7f, 0x80, 0xbf, 0xc3, 0xe2, 0xef, 0xff]
const byteArb = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(...interesting))
type Mutation = { op: 0 | 1 | 2; at: number; byte: number }
const mutationArb: fc.Arbitrary<Mutation> = fc.record({ op: fc.constantFrom(0 as const, 1 as const, 2 as const), at: fc.nat(), byte: byteArb })

function mutate(src: Uint8Array, muts: Mutation[]): Uint8Array {
  let b = Buffer.from(src)
  for (const { op, at, byte } of muts) {
    const p = b.length === 0 ? 0 : at % (op === 1 ? b.length + 1 : b.length)
    if (op === 0 && b.length > 0) b = Buffer.concat([b.subarray(0, p), b.subarray(p + 1)]) // delete
    else if (op === 1) b = Buffer.concat([b.subarray(0, p), Buffer.from([byte]), b.subarray(p)]) // insert
    else if (b.length > 0) b[p] = byte // replace
  }
  return b
}

const agree = (b: Uint8Array): boolean => isValidJson(b, 0, b.length) === reference(b, 0, b.length)

t.test('random mutations of valid JSON: same verdict as JSON.parse', async (t) => {
  let invalid = 0
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 4 }), wsArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (v, ws, muts) => {
      const b = mutate(Buffer.from(stringifyWithWs(v, ws), 'utf8'), muts)
      if (!reference(b, 0, b.length)) invalid++
      return agree(b)
    }),
    { numRuns: 30_000 },
  )
  t.ok(invalid > 5_000, `mutations produce plenty of invalid inputs (${invalid} of 30,000)`)
})

t.test('arbitrary strings and bytes: same verdict as JSON.parse', async (t) => {
  const jsonish = fc.string({ unit: fc.constantFrom(...'{}[],:"\\ \t\n0123-.eE+tfnulasrbu/x\u00e9\u2028'.split('')), maxLength: 24 })
  fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => agree(Buffer.from(s, 'utf8'))), { numRuns: 10_000 })
  fc.assert(fc.property(jsonish, (s) => agree(Buffer.from(s, 'utf8'))), { numRuns: 30_000 })
  fc.assert(fc.property(fc.uint8Array({ maxLength: 32 }), (b) => agree(b)), { numRuns: 10_000 })
  fc.assert(fc.property(fc.array(byteArb, { maxLength: 24 }), (a) => agree(Uint8Array.from(a))), { numRuns: 30_000 })
  t.pass('80,000 cases')
})

// ---------------------------------------------------------------------------------------------
// (3) Micro-benchmark (reported, not asserted).
// ---------------------------------------------------------------------------------------------

t.test('benchmark on samples/agent-logs.jsonl', async (t) => {
  const data = readFileSync(fileURLToPath(new URL('../samples/agent-logs.jsonl', import.meta.url)))
  const starts: number[] = []
  const ends: number[] = []
  for (let s = 0; s < data.length;) {
    let nl = data.indexOf(0x0a, s)
    if (nl === -1) nl = data.length
    if (nl > s) { starts.push(s); ends.push(nl) }
    s = nl + 1
  }
  const viaParse = (): number => {
    let ok = 0
    for (let k = 0; k < starts.length; k++) {
      try {
        JSON.parse(data.subarray(starts[k], ends[k]).toString('utf8'))
        ok++
      } catch { /* counted as invalid */ }
    }
    return ok
  }
  const viaValidator = (): number => {
    let ok = 0
    for (let k = 0; k < starts.length; k++) if (isValidJson(data, starts[k]!, ends[k]!)) ok++
    return ok
  }
  t.equal(viaValidator(), viaParse(), 'both agree on every sample line')
  const measure = (fn: () => number): number => {
    for (let w = 0; w < 20; w++) fn() // warm up (let both reach optimized code)
    let best = Infinity
    for (let r = 0; r < 40; r++) {
      const t0 = process.hrtime.bigint()
      fn()
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9)
    }
    return data.length / 1e6 / best
  }
  const parse = measure(viaParse)
  const validate = measure(viaValidator)
  t.comment(`${starts.length} lines, ${(data.length / 1e6).toFixed(2)} MB (best of 40 runs)`)
  t.comment(`JSON.parse(toString): ${parse.toFixed(0)} MB/s`)
  t.comment(`isValidJson:          ${validate.toFixed(0)} MB/s (${(validate / parse).toFixed(1)}x)`)
})
