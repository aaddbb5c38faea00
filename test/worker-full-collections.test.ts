// A worker thread runs a full collection of its own heap every WORKED_EVERY bytes of jobs (reclaim.ts workedBytes):
// its young collections move the memory of the messages in flight into its old generation, where it dies, and a
// worker ran no full collection of its own in a streaming job (its malloc arena grew through a whole 2 GiB pack).
// Observable from outside: --trace-gc in a child process that validates 192 MiB of JSON lines on a pool of 2.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { WORKED_EVERY, workedBytes } from '../src/core/format/reclaim.js'
import { watchForcedCollections } from './helpers/gc.js'

const POOL = pathToFileURL(fileURLToPath(new URL('../dist/core/workers/worker-pool.js', import.meta.url))).href

t.test('workedBytes: one full collection per WORKED_EVERY bytes, none before', async (t) => {
  const gc = watchForcedCollections()
  t.teardown(() => gc.stop())
  for (let i = 0; i < 63; i++) workedBytes(WORKED_EVERY / 64)
  await gc.settle()
  t.equal(gc.full + gc.young, 0, '63/64 of it: none')
  workedBytes(WORKED_EVERY / 64)
  await gc.settle()
  t.equal(gc.full, 1, 'the rest: one full collection')
  t.equal(gc.young, 0, 'and no young one')
})

t.test('pool workers run their own full collections as they validate', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'maif-worker-gc-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const script = join(dir, 'validate.mjs')
  writeFileSync(script, `
const { WorkerPool } = await import(${JSON.stringify(POOL)})
const pool = new WorkerPool(2)
const line = Buffer.from(JSON.stringify({ event: 'tool_call', text: 'x'.repeat(300) }) + '\\n')
const chunk = Buffer.concat(Array.from({ length: Math.floor((1 << 20) / line.length) }, () => line))
let records = 0
for (let i = 0; i < 192; i += 2) {
  const rs = await Promise.all([0, 1].map(() => pool.run({ op: 'lines', data: Buffer.from(chunk), validateJson: true })))
  for (const r of rs) records += r.count
}
// A worker collects after it has answered: give the last ones time before the pool ends the threads.
await new Promise((r) => setTimeout(r, 300))
await pool.close()
process.stdout.write(JSON.stringify({ records }))
`)
  const r = spawnSync(process.execPath, ['--trace-gc', script], { encoding: 'utf8', timeout: 120_000 })
  t.equal(r.status, 0, r.stderr)
  const out = r.stdout.split('\n')
  const result = JSON.parse(out.at(-1)!) as { records: number }
  t.ok(result.records > 192 * 2000, `the jobs ran (${result.records} records)`)
  // --trace-gc names each isolate by address; the main thread's is the first to report a collection.
  const forced = out.filter((l) => l.includes('Mark-Compact') && l.includes('testing'))
  const isolates = new Set(forced.map((l) => /\[\d+:(0x[0-9a-f]+)\]/.exec(l)?.[1]))
  const perWorker = [...isolates].map((a) => forced.filter((l) => l.includes(`:${a}]`)).length)
  // The main thread forces none here; the workers share 192 MiB of jobs in some split: one collection per whole
  // 64 MiB a worker did, 2 (96 + 96) to 3 (192 + 0) in all.
  const total = perWorker.reduce((a, b) => a + b, 0)
  t.ok(isolates.size >= 1 && isolates.size <= 2, `forced full collections on the workers (${JSON.stringify(perWorker)})`)
  t.ok(total >= 2 && total <= 3, `${total} in all: one per WORKED_EVERY bytes a worker did`)
})
