// A slow stdin: `maif pack -` fed 100 records a second, then killed with SIGKILL. Every record fed more than
// 2 × (block interval + checkpoint interval) = 4 s before the kill is durable: the line reader hands on what it
// has read as soon as it is validated (not when its window fills), blocks close after 1 s, and a checkpoint
// follows within 1 s. Before this, the reader held everything until more input came, and 0 of 500 survived.
import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { generateKeyring } from '../src/core/format/keyring.js'
import { CLI, maif } from './helpers/cli.js'

/** The child reads our pipe as its stdin; tap's process-info hook (NODE_OPTIONS) is kept out of it. */
function childEnv(): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _n, ...env } = process.env
  return env
}

const RATE = 100 // records per second
const SECONDS = 6
const WINDOW_MS = 2 * (1000 + 1000)

t.test('records fed more than the durability window before a SIGKILL survive', async (t) => {
  const dir = t.testdir()
  const keys = join(dir, 'keys')
  await generateKeyring(keys)
  const out = join(dir, 'slow.maif')
  const child = spawn(process.execPath, [CLI, 'pack', '-', '-o', out, '--keyring', keys], { stdio: ['pipe', 'ignore', 'pipe'], env: childEnv() })
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()))
  // The clock starts when the writer has opened the container, not when the child was spawned: on a loaded
  // machine Node's start-up alone can take seconds, and records written into the pipe before the child reads
  // it were not yet "fed" to maif in any sense the durability window speaks of.
  const ready = Date.now() + 60_000
  while (!existsSync(out) && Date.now() < ready) await sleep(20)
  t.ok(existsSync(out), 'the writer opened the container within 60 s')
  const fedAt: number[] = []
  const start = Date.now()
  for (let i = 0; i < RATE * SECONDS; i++) {
    const due = start + (i * 1000) / RATE
    const wait = due - Date.now()
    if (wait > 0) await sleep(wait)
    child.stdin!.write(JSON.stringify({ i, at: Date.now() }) + '\n')
    fedAt.push(Date.now())
  }
  const killedAt = Date.now()
  child.kill('SIGKILL')
  await closed
  const rec = await maif(['recover', out, '--json'])
  t.ok(rec.code === 0, `recover: ${rec.stdout}${rec.stderr}`)
  const v = await maif(['verify', out, '--keyring', keys, '--json'])
  t.equal(v.code, 0, v.stdout)
  const records = (JSON.parse(v.stdout) as { records: number }).records
  const mustSurvive = fedAt.filter((at) => at <= killedAt - WINDOW_MS).length
  t.ok(mustSurvive >= RATE, `precondition: ${mustSurvive} records were fed more than ${WINDOW_MS} ms before the kill`)
  t.ok(records >= mustSurvive, `${records} records survived; ${mustSurvive} were fed more than ${WINDOW_MS} ms before the kill`)
  const cat = await maif(['cat', out, '--keyring', keys, '--jsonl'])
  const got = cat.stdout.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { i: number }).i)
  t.strictSame(got, Array.from({ length: got.length }, (_, i) => i), 'in order, a prefix of what was fed')
})
