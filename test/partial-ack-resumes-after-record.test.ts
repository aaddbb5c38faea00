// A block boundary can fall inside a line batch: the file source's cursor then resumes right after the batch's
// last durable record. The positions come from the batch's RecordPositions (worker-relative ends, line numbers
// only when a line was dropped), kept by the token until every output has the batch durable.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readLines, type LineStats, type PositionedLines } from '../src/core/runtime/line-reader.js'
import { RecordPositions } from '../src/core/runtime/record-positions.js'
import { WorkerPool } from '../src/core/workers/worker-pool.js'
import { applyProgress } from '../src/sources/file/index.js'
import type { FileToken } from '../src/sources/file/reader.js'
import type { FilePosition } from '../src/sources/file/cursor.js'

const dir = mkdtempSync(join(tmpdir(), 'maif-partial-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const pool = new WorkerPool(2)
t.teardown(() => pool.close())

async function batches(body: string, withPool: boolean): Promise<{ file: string; got: PositionedLines[] }> {
  const file = join(dir, `in-${Math.random().toString(36).slice(2)}.jsonl`)
  writeFileSync(file, body)
  const stats: LineStats = { lines: 0, accepted: 0, rejected: 0, bytes: 0 }
  const got: PositionedLines[] = []
  for await (const b of readLines(file, true, 1 << 20, 4096, withPool ? pool : null, stats, () => {})) got.push(b)
  return { file, got }
}

const token = (file: string, b: PositionedLines): FileToken => ({ file, offset: b.pos.offset, line: b.pos.line, last: b.pos.last, records: b.records })

for (const withPool of [true, false]) {
  for (const [name, bad] of [['every line good', false], ['some lines dropped', true]] as const) {
    t.test(`${name}, ${withPool ? 'on a pool' : 'inline'}: a partial ack lands right after the durable record`, async (t) => {
      const lines = Array.from({ length: 300 }, (_, i) => (bad && i % 7 === 3 ? `{"broken":${i}` : JSON.stringify({ i, pad: 'x'.repeat(i % 50) })))
      const body = lines.join('\n') // no final newline: the last record ends at the end of the file
      const { file, got } = await batches(body, withPool)
      // Where each good line ends in the file, and its line number, counted here from the text.
      const want: Array<{ end: number; line: number }> = []
      let at = 0
      lines.forEach((l, i) => {
        at += Buffer.byteLength(l) + (i < lines.length - 1 ? 1 : 0)
        if (!(bad && i % 7 === 3)) want.push({ end: at, line: i + 1 })
      })
      t.ok(got.filter((b) => b.count > 0).length >= 3, 'the input spans several batches')
      let k = 0
      let checked = 0
      for (const b of got) {
        for (let r = 1; r <= b.count; r++) {
          const files = applyProgress(new Map<string, FilePosition>(), { done: [], partial: { token: token(file, b), records: r } })
          const w = want[k + r - 1]!
          if (files.get(file)?.offset !== w.end || files.get(file)?.line !== w.line || files.get(file)?.done !== false) {
            t.fail(`record ${k + r} (line ${w.line}): cursor ${JSON.stringify(files.get(file))}, want offset ${w.end}`)
            return
          }
          checked++
        }
        k += b.count
      }
      t.equal(checked, want.length, 'every record checked')
      t.equal(k, want.length, 'the batches hold exactly the good lines')
    })
  }
}

t.test('a partial ack past the batch, or of none of it, leaves the cursor where it was', async (t) => {
  const { file, got } = await batches('{"a":1}\n{"a":2}\n', false)
  const b = got.find((x) => x.count > 0)!
  const before = new Map<string, FilePosition>([[file, { offset: 0, line: 0, done: false }]])
  t.strictSame(applyProgress(new Map(before), { done: [], partial: { token: token(file, b), records: b.count + 1 } }).get(file), before.get(file))
  t.strictSame(applyProgress(new Map(before), { done: [], partial: { token: token(file, b), records: 0 } }).get(file), before.get(file))
  t.equal(RecordPositions.none.end(0), undefined)
  t.equal(RecordPositions.none.line(0), undefined)
  t.equal(RecordPositions.none.count, 0)
})

t.test('line numbers must match the record ends one for one', async (t) => {
  t.throws(() => new RecordPositions(0, 10, new Uint32Array(2), 0, new Uint32Array(1)), RangeError)
})
