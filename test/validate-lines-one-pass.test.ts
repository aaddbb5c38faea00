// validateLines finds the end of a good JSON line with the validator itself (jsonLineEnd), in the same pass
// that checks it, and looks for the newline with indexOf only when a line fails. The result must be exactly
// what splitting on '\n' first and judging each line with JSON.parse gives: same records, same line numbers,
// same rejects, same resume positions. The oracle below is that, written out plainly.
import t from 'tap'
import fc from 'fast-check'
import { jsonLineEnd, MAX_DEPTH } from '../src/core/format/json-validate.js'
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
const same = (a: Omit<Out, 'lineNos'> & { lineNos: Uint32Array | null }, b: Out): boolean =>
  a.valid.equals(b.valid) && a.count === b.count && a.lines === b.lines &&
  a.ends.length === b.ends.length && a.ends.every((x, i) => x === b.ends[i]) &&
  (a.lineNos === null
    ? b.rejects.length === 0 && b.lineNos.every((x, i) => x === i + 1)
    : a.lineNos.length === b.lineNos.length && a.lineNos.every((x, i) => x === b.lineNos[i])) &&
  a.rejects.length === b.rejects.length &&
  a.rejects.every((r, i) => r.line === b.rejects[i]!.line && r.reason === b.rejects[i]!.reason && Buffer.from(r.raw).equals(Buffer.from(b.rejects[i]!.raw)))

const show = (b: Buffer): string => JSON.stringify(b.toString('latin1'))

t.test('jsonLineEnd: the newline (or the end) after a good line, -1 after a bad one', async (t) => {
  const cases: Array<[string, number]> = [
    ['{}\n', 2], ['{}', 2], ['{} \t\r\n', 5], ['1\n2\n', 1], ['"a"\nx', 3], ['true\n', 4], ['[1,2]\r\n', 6],
    ['{\n}\n', -1], // an object split over two lines: both lines are bad
    ['"a\nb"\n', -1], // a raw newline inside a string
    ['tru\ne\n', -1], ['1.\n5\n', -1], ['1e\n5\n', -1], ['-\n1\n', -1], ['\n', -1], ['\r\n', -1], ['', -1],
    ['{} x\n', -1], ['{}{}\n', -1], ['[1,\n2]\n', -1], ['nul\nl\n', -1], ['"\\\n"\n', -1], ['"\\u00\n41"\n', -1],
  ]
  for (const [s, want] of cases) {
    const b = Buffer.from(s, 'latin1')
    t.equal(jsonLineEnd(b, 0, b.length), want, show(b))
  }
  // From the middle of a buffer, and bounded by `end`.
  const b = Buffer.from('xx{"a":1}\n{"b":2}\n')
  t.equal(jsonLineEnd(b, 2, b.length), 9)
  t.equal(jsonLineEnd(b, 10, b.length), 17)
  t.equal(jsonLineEnd(b, 10, 16), -1, 'cut before its closing brace')
})

t.test('nesting deeper than MAX_DEPTH: the fallback stops at the line end too', async (t) => {
  const deep = '['.repeat(MAX_DEPTH + 5) + ']'.repeat(MAX_DEPTH + 5)
  const good = Buffer.from(`${deep}\n{"next":1}\n`)
  t.equal(jsonLineEnd(good, 0, good.length), deep.length, 'a good deep line ends at its newline')
  t.ok(same(validateLines(good, true), oracle(good, true)), 'and validateLines keeps both lines')
  const bad = Buffer.from(`${deep.slice(0, -1)}\n]\n`)
  t.equal(jsonLineEnd(bad, 0, bad.length), -1, 'a deep line closed on the next line is bad')
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
      return same(got, want)
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
