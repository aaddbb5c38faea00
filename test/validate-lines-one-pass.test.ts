// validateLines has every line of a chunk found and judged in one pass (judgeLines, in WebAssembly), and looks
// for newlines with indexOf only when there is no JSON to check. The result must be exactly
// what splitting on '\n' first and judging each line with JSON.parse gives: same records, same line numbers,
// same rejects, same resume positions. The oracle below is that, written out plainly.
import t from 'tap'
import fc from 'fast-check'
import { isValidJson, judgeLines, MAX_DEPTH } from '../src/core/format/json-validate.js'
import { validateLines } from '../src/core/workers/worker.js'

interface Out { valid: Buffer; count: number; lines: number; rejects: Array<{ line: number; reason: string; raw: Uint8Array }>; ends: Uint32Array; lineNos: Uint32Array }

/** Split on '\n', then each line: too long, empty, or not JSON.parse-able is rejected. */
function oracle(data: Buffer, validateJson: boolean, maxLine = Infinity): Out {
  const rejects: Out['rejects'] = []
  const kept: Buffer[] = []
  const ends: number[] = []
  const lineNos: number[] = []
  let lines = 0
  for (let start = 0; start < data.length;) {
    let nl = data.indexOf(0x0a, start)
    if (nl === -1) nl = data.length
    lines++
    const line = data.subarray(start, nl)
    let reason: string | null = null
    if (line.length > maxLine) reason = `line longer than maxLineLength (${line.length} > ${maxLine} bytes)`
    else if (line.length === 0 || (line.length === 1 && line[0] === 0x0d)) reason = 'empty line'
    else if (validateJson) {
      try {
        JSON.parse(line.toString('utf8'))
      } catch (err) {
        reason = `invalid JSON: ${(err as Error).message}`
      }
    }
    if (reason === null) {
      kept.push(data.subarray(start, Math.min(nl + 1, data.length)))
      ends.push(Math.min(nl + 1, data.length))
      lineNos.push(lines)
    } else rejects.push({ line: lines, reason, raw: Uint8Array.from(line) })
    start = nl + 1
  }
  return { valid: Buffer.concat(kept), count: ends.length, lines, rejects, ends: Uint32Array.from(ends), lineNos: Uint32Array.from(lineNos) }
}

/** validateLines' result `a` against the oracle's `b`. Its line numbers may be null only when no line was dropped. */
const same = (a: Omit<Out, 'lineNos' | 'ends'> & { ends: Uint32Array | null; lineNos: Uint32Array | null }, b: Out): boolean =>
  a.valid.equals(b.valid) && a.count === b.count && a.lines === b.lines &&
  a.ends !== null && a.ends.length === b.ends.length && a.ends.every((x, i) => x === b.ends[i]) &&
  (a.lineNos === null
    ? b.rejects.length === 0 && b.lineNos.every((x, i) => x === i + 1)
    : a.lineNos.length === b.lineNos.length && a.lineNos.every((x, i) => x === b.lineNos[i])) &&
  a.rejects.length === b.rejects.length &&
  a.rejects.every((r, i) => r.line === b.rejects[i]!.line && r.reason === b.rejects[i]!.reason && Buffer.from(r.raw).equals(Buffer.from(b.rejects[i]!.raw)))

const show = (b: Buffer): string => JSON.stringify(b.toString('latin1'))

/** judgeLines' answer, as plain arrays. */
function judged(b: Uint8Array): { ends: number[]; bad: number[] } {
  const j = judgeLines(b)
  return { ends: Array.from(j.ends.subarray(0, j.count)), bad: Array.from(j.bad.subarray(0, j.count)) }
}

/** The same, worked out by splitting on '\n' and JSON.parse. */
function judgedByParse(b: Uint8Array): { ends: number[]; bad: number[] } {
  const data = Buffer.from(b.buffer, b.byteOffset, b.length)
  const ends: number[] = []
  const bad: number[] = []
  for (let start = 0; start < data.length;) {
    let nl = data.indexOf(0x0a, start)
    if (nl === -1) nl = data.length
    let ok = nl > start
    try {
      if (ok) JSON.parse(data.toString('utf8', start, nl))
    } catch {
      ok = false
    }
    ends.push(nl)
    bad.push(ok ? 0 : 1)
    start = nl + 1
  }
  return { ends, bad }
}

t.test('judgeLines: where each line ends, and whether it is bad', async (t) => {
  // [text, first line's end, first line bad]
  const cases: Array<[string, number, number]> = [
    ['{}\n', 2, 0], ['{}', 2, 0], ['{} \t\r\n', 5, 0], ['1\n2\n', 1, 0], ['"a"\nx', 3, 0], ['true\n', 4, 0], ['[1,2]\r\n', 6, 0],
    ['{\n}\n', 1, 1], // an object split over two lines: both lines are bad
    ['"a\nb"\n', 2, 1], // a raw newline inside a string
    ['tru\ne\n', 3, 1], ['1.\n5\n', 2, 1], ['1e\n5\n', 2, 1], ['-\n1\n', 1, 1], ['\n', 0, 1], ['\r\n', 1, 1],
    ['{} x\n', 4, 1], ['{}{}\n', 4, 1], ['[1,\n2]\n', 3, 1], ['nul\nl\n', 3, 1], ['"\\\n"\n', 2, 1], ['"\\u00\n41"\n', 5, 1],
  ]
  for (const [s, end, bad] of cases) {
    const b = Buffer.from(s, 'latin1')
    const got = judged(b)
    t.same([got.ends[0], got.bad[0]], [end, bad], show(b))
    t.same(got, judgedByParse(b), `${show(b)}: every line as JSON.parse judges it`)
  }
  t.equal(judgeLines(Buffer.alloc(0)).count, 0, 'no bytes, no lines')
  // A view into the middle of a larger buffer: positions count from the view's start.
  const b = Buffer.from('xx{"a":1}\n{"b":2}\n').subarray(2)
  t.same(judged(b), { ends: [7, 15], bad: [0, 0] })
  t.same(judged(b.subarray(0, 14)), { ends: [7, 14], bad: [0, 1] }, 'cut before its closing brace')
})

t.test('judgeLines: many lines, bad and deep ones among them, and a line per byte', async (t) => {
  // 40,000 lines, with bad lines and a deep one (judged by JSON.parse) far into the chunk.
  const lines = Array.from({ length: 40_000 }, (_, i) => (i % 7 === 3 ? '{"bad":' : i === 20_000 ? '['.repeat(MAX_DEPTH + 1) + ']'.repeat(MAX_DEPTH + 1) : `{"i":${i}}`))
  const data = Buffer.from(lines.join('\n') + '\n')
  const got = judged(data)
  t.equal(got.ends.length, 40_000)
  t.same(got, judgedByParse(data), 'every line, in every call, as JSON.parse judges it')
  t.equal(got.bad[20_000], 0, 'the deep line, judged by JSON.parse, is good')
  // As many lines as bytes: the most a chunk can have, each with its end and verdict.
  const empty = Buffer.alloc(100_000, 0x0a)
  t.same(judged(empty), judgedByParse(empty), '100,000 empty lines, all bad')
  const ones = Buffer.from('1\n'.repeat(50_000) + '1')
  t.same(judged(ones), judgedByParse(ones), '50,001 one-digit lines, all good')
})

t.test('judgeLines and isValidJson after a larger input: only the bytes given count', async (t) => {
  // The validator's memory grows to the largest input and keeps its bytes; a shorter input must not see them.
  const big = Buffer.from('{"a":"' + 'x'.repeat(3 << 20) + '"}\ntrue\n')
  t.same(judged(big), { ends: [big.length - 6, big.length - 1], bad: [0, 0] })
  t.same(judged(Buffer.from('{"a":"x')), { ends: [7], bad: [1] }, 'an unterminated string stays unterminated')
  t.same(judged(Buffer.from('true\n')), { ends: [4], bad: [0] })
  t.same(judged(Buffer.from('tru')), { ends: [3], bad: [1] }, '"tru" is not "true"')
  t.equal(isValidJson(Buffer.from('[1,2]'), 0, 5), true)
  t.equal(isValidJson(Buffer.from('[1,2'), 0, 4), false, 'nor "[1,2" "[1,2]"')
})

t.test('nesting deeper than MAX_DEPTH: the fallback stops at the line end too', async (t) => {
  const deep = '['.repeat(MAX_DEPTH + 5) + ']'.repeat(MAX_DEPTH + 5)
  const good = Buffer.from(`${deep}\n{"next":1}\n`)
  t.same(judged(good), { ends: [deep.length, good.length - 1], bad: [0, 0] }, 'a good deep line ends at its newline')
  t.ok(same(validateLines(good, true), oracle(good, true)), 'and validateLines keeps both lines')
  const bad = Buffer.from(`${deep.slice(0, -1)}\n]\n`)
  t.same(judged(bad).bad, [1, 1], 'a deep line closed on the next line is bad')
  t.ok(same(validateLines(bad, true), oracle(bad, true)), 'and validateLines rejects both lines')
})

// Lines made of JSON values, mutated bytes and the characters that matter at a line's edges.
const edge = fc.constantFrom('\n', '\r', '\r\n', ' ', '\t', '"', '\\', '{', '}', '[', ']', ',', ':', '1', '-', '.', 'e', 'tru', 'e', 'null', '\u00e9', '\u2028')
const lineArb = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v, null, 1)), // values over several lines
  fc.array(edge, { maxLength: 8 }).map((a) => a.join('')),
  fc.string({ maxLength: 12 }),
)
const chunkArb = fc.tuple(fc.array(lineArb, { maxLength: 12 }), fc.boolean()).map(([ls, endNl]) => Buffer.from(ls.join('\n') + (endNl ? '\n' : ''), 'utf8'))

t.test('validateLines gives what splitting first and JSON.parse give, on random chunks', async (t) => {
  let rejected = 0
  let kept = 0
  fc.assert(
    fc.property(chunkArb, fc.boolean(), fc.oneof(fc.constant(Infinity), fc.integer({ min: 0, max: 40 })), (data, validateJson, maxLine) => {
      const got = validateLines(data, validateJson, maxLine)
      const want = oracle(data, validateJson, maxLine)
      rejected += want.rejects.length
      kept += want.count
      // Without positions (no cursor to resume), the same answer but for the record ends, which are not made.
      const bare = validateLines(data, validateJson, maxLine, false)
      return same(got, want) && bare.ends === null && same({ ...bare, ends: got.ends }, want)
    }),
    { numRuns: 20_000 },
  )
  t.ok(rejected > 10_000 && kept > 10_000, `both kinds of line occur often (${kept} kept, ${rejected} rejected)`)
})

t.test('a whole sample-like chunk: every line kept, ends at each newline', async (t) => {
  const lines = Array.from({ length: 500 }, (_, i) => JSON.stringify({ i, text: `step ${i} \u00e9 "quoted" \\ back`, n: [i, -i / 3, 1e21] }))
  const data = Buffer.from(lines.join('\n') + '\n')
  const got = validateLines(data, true)
  t.ok(same(got, oracle(data, true)))
  t.equal(got.count, 500)
  t.equal(got.valid, data, 'with nothing rejected, the chunk itself is passed on')
  t.equal(got.lineNos, null, 'and no line numbers are made: record i is line i + 1')
})
