// Record ends are kept for a cursor to resume from, and only then: without one (maif pack), a line batch carries
// how many records it has and their line numbers (dead letters name their lines), but no ends. The ends were
// allocated on the workers and held until the next checkpoint, some 4 MiB at the end of a 1 GiB pack.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readLines, type LineStats, type PositionedLines } from '../src/core/runtime/line-reader.js'
import { WorkerPool } from '../src/core/workers/worker-pool.js'
import { runPipeline } from '../src/index.js'

const dir = mkdtempSync(join(tmpdir(), 'maif-ends-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const pool = new WorkerPool(2)
t.teardown(() => pool.close())

const lines = Array.from({ length: 400 }, (_, i) => (i % 9 === 4 ? `{"broken":${i}` : JSON.stringify({ i, pad: 'y'.repeat(i % 40) })))
const file = join(dir, 'in.jsonl')
writeFileSync(file, lines.join('\n') + '\n')
const goodLines = lines.flatMap((l, i) => (i % 9 === 4 ? [] : [i + 1]))

async function batches(positions: boolean | undefined, withPool: boolean): Promise<PositionedLines[]> {
  const stats: LineStats = { lines: 0, accepted: 0, rejected: 0, bytes: 0 }
  const got: PositionedLines[] = []
  for await (const b of readLines(file, true, 1 << 20, 2048, withPool ? pool : null, stats, () => {}, { offset: 0, line: 0, ...(positions === undefined ? {} : { positions }) })) got.push(b)
  return got
}

for (const withPool of [true, false]) {
  t.test(`${withPool ? 'on a pool' : 'inline'}: without positions, counts and line numbers but no ends`, async (t) => {
    const bare = await batches(false, withPool)
    const full = await batches(undefined, withPool)
    t.equal(bare.length, full.length, 'the same batches')
    t.ok(bare.filter((b) => b.count > 0).length >= 3, 'the input spans several batches')
    const lineNos: number[] = []
    for (const [k, b] of bare.entries()) {
      const f = full[k]!
      t.equal(b.count, f.count)
      t.equal(b.records.count, b.count, 'the positions know how many records there are')
      t.same(b.pos, f.pos, 'and the batch ends where it does with positions')
      if (b.count > 0) {
        t.equal(b.records.end(0), undefined, 'no record end without positions')
        t.equal(b.records.after(b.count), undefined, 'nor a place to resume')
        t.not(f.records.end(0), undefined, 'while the default keeps them')
      }
      for (let r = 0; r < b.count; r++) {
        t.equal(b.records.line(r), f.records.line(r))
        lineNos.push(b.records.line(r)!)
      }
      t.equal(b.records.line(b.count), undefined, 'nothing past the last record')
    }
    t.same(lineNos, goodLines, 'every good line, numbered as in the file')
  })
}

t.test('a pipeline without a cursor still names the line of a record a later stage dead-letters', async (t) => {
  const out = join(dir, 'out.jsonl')
  const dl = join(dir, 'dl.jsonl')
  const r = await runPipeline({
    name: 'no-cursor',
    source: { type: 'file', path: file, format: 'jsonl' },
    transforms: [{ type: 'validate-json', schema: { type: 'object', properties: { i: { type: 'integer', not: { const: 10 } } } } }],
    sink: { type: 'file', path: out },
    deadLetter: { type: 'file', path: dl },
  })
  t.ok(r.reconciled)
  const { readFileSync } = await import('node:fs')
  const dead = readFileSync(dl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { source?: { line?: number }; reason?: string })
  const schema = dead.filter((d) => /schema/.test(d.reason ?? ''))
  t.equal(schema.length, 1, 'one record fails the schema')
  t.equal(schema[0]!.source?.line, 11, 'and it is named by its line: record i = 10 is line 11')
})
