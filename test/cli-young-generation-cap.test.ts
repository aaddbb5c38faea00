// The CLI caps the main thread's young generation (cli/young-generation.ts). Without it, V8 doubles the young
// generation each time enough bytes have survived its collections, so a long run ends at its maximum (32 MiB on
// Node 20 and 22, 128 MiB on Node 24): verify --pub of a million one-record blocks peaked 20 MB higher than with
// the cap. Observable in a child process that keeps a rolling window of live objects, as a pipeline keeps its
// batches in flight, yields as a pipeline does between batches, and starts a worker thread part way (which puts
// V8's flags back): the young generation's largest size, with and without the cap.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { YOUNG_CAP } from '../src/cli/young-generation.js'

const MODULE = fileURLToPath(new URL('../dist/cli/young-generation.js', import.meta.url))
const MiB = 1 << 20

const CHURN = `
import { getHeapSpaceStatistics } from 'node:v8'
import { Worker } from 'node:worker_threads'
if (process.argv[2] === 'cap') (await import(process.argv[3])).capYoungGeneration()
const young = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size
const window = new Array(50000)
let max = 0
for (let round = 0; round < 60; round++) {
  for (let i = 0; i < 50000; i++) {
    if (i % 1000 === 0) await new Promise((r) => setImmediate(r))
    window[i] = { round, i, s: 'x'.repeat(i % 64) + i }
  }
  max = Math.max(max, young())
  // A worker started once the cap holds, as pack starts its pool: starting one resets V8's flags.
  if (round === 10) await new Promise((r) => new Worker('setTimeout(() => {}, 50)', { eval: true }).on('exit', r))
}
process.stdout.write(JSON.stringify({ max }))
`

const dir = mkdtempSync(join(tmpdir(), 'maif-young-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const script = join(dir, 'churn.mjs')
writeFileSync(script, CHURN)

function largestYoung(mode: 'cap' | 'none'): number {
  const r = spawnSync(process.execPath, [script, mode, MODULE], { encoding: 'utf8', timeout: 120_000 })
  if (r.status !== 0) throw new Error(`churn (${mode}) exited ${r.status}: ${r.stderr}`)
  return (JSON.parse(r.stdout) as { max: number }).max
}

t.test('without the cap the young generation grows past it; with it, it stays about there', async (t) => {
  const free = largestYoung('none')
  const capped = largestYoung('cap')
  t.ok(free >= 2 * YOUNG_CAP, `uncapped: ${(free / MiB).toFixed(1)} MiB (the workload drives V8 to grow it)`)
  t.ok(capped <= 1.5 * YOUNG_CAP, `capped: ${(capped / MiB).toFixed(1)} MiB, cap ${(YOUNG_CAP / MiB).toFixed(0)} MiB`)
  t.ok(capped >= YOUNG_CAP / 4, `and not frozen at its first size (${(capped / MiB).toFixed(1)} MiB)`)
})
