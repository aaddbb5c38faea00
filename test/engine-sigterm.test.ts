// A batch job interrupted by SIGTERM (graceful) or SIGKILL (then `maif recover`) and run again ends with
// every input record in the container exactly once: the cursor is written before each checkpoint.
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateKeyring, loadKeyring } from '../src/core/format/keyring.js'
import { verifyContainer } from '../src/core/container/verify.js'
import { CLI, maif } from './helpers/cli.js'

const PIPELINE = fileURLToPath(new URL('./fixtures/sigterm/slow-pipeline.ts', import.meta.url))
const FILES = 3
const PER_FILE = 60_000
/** Lines n with n % 5000 === 17 are followed by a malformed line. */
const BROKEN_PER_FILE = Math.ceil((PER_FILE - 17) / 5000)

function makeInputs(dir: string): void {
  mkdirSync(dir, { recursive: true })
  for (let f = 0; f < FILES; f++) {
    const lines: string[] = []
    for (let n = 0; n < PER_FILE; n++) {
      lines.push(JSON.stringify({ f, n, note: 'x'.repeat(n % 97) }))
      if (n % 5000 === 17) lines.push('{"broken": ') // dead-lettered, once per occurrence
    }
    writeFileSync(join(dir, `in-${f}.jsonl`), lines.join('\n') + '\n')
  }
}

/** Runs the job; kills it with `signal` once the cursor shows `commits` checkpoints. */
function runUntil(env: Record<string, string>, signal: NodeJS.Signals | null, commits: number, cursor: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'run', PIPELINE, '--json', '--no-progress', '--log-level', 'warn'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    let timer: NodeJS.Timeout | undefined
    if (signal) {
      timer = setInterval(() => {
        const n = existsSync(cursor) ? readFileSync(cursor, 'utf8').split('\n').filter(Boolean).length : 0
        if (n >= commits) {
          clearInterval(timer)
          child.kill(signal)
        }
      }, 5)
    }
    child.on('error', reject)
    child.on('close', (code, sig) => {
      clearInterval(timer)
      if (code !== 0 && sig === null) return reject(new Error(`maif run exited ${code}: ${stderr}`))
      resolve({ code, signal: sig, stdout })
    })
  })
}

async function contents(file: string, keys: string): Promise<{ ok: boolean; seen: Map<string, number>; errors: unknown[] }> {
  const kr = await loadKeyring(keys)
  const seen = new Map<string, number>()
  const r = await verifyContainer(file, {
    keyProvider: kr, pinned: [kr.signer.publicKey],
    onBlock: (b) => {
      for (const line of b.data.toString().split('\n')) {
        if (!line) continue
        const { f, n } = JSON.parse(line) as { f: number; n: number }
        seen.set(`${f}:${n}`, (seen.get(`${f}:${n}`) ?? 0) + 1)
      }
    },
  })
  return { ok: r.ok, seen, errors: r.errors }
}

function assertExactlyOnce(t: Test, seen: Map<string, number>): void {
  t.equal(seen.size, FILES * PER_FILE, 'every input record is in the container')
  const dup = [...seen.values()].filter((c) => c !== 1).length
  t.equal(dup, 0, 'no record is in the container twice')
}

for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
  t.test(`${signal} in the middle of a batch job, then a re-run: no record lost, none duplicated`, async (t) => {
    const dir = t.testdir()
    const keys = join(dir, 'keys')
    await generateKeyring(keys)
    makeInputs(join(dir, 'in'))
    const env = { IN_DIR: join(dir, 'in'), OUT_DIR: join(dir, 'out'), KEYS: keys }
    const cursor = join(dir, 'out', 'job.cursor')
    const container = join(dir, 'out', 'job.maif')
    const first = await runUntil(env, signal, 3, cursor)
    if (signal === 'SIGTERM') {
      t.equal(first.code, 0, 'a graceful stop exits 0')
      const report = JSON.parse(first.stdout) as { status: string; reconciled: boolean; delivered: number }
      t.equal(report.status, 'stopped')
      t.ok(report.delivered < FILES * PER_FILE, `stopped part-way (${report.delivered} records delivered)`)
      const mid = await contents(container, keys)
      t.equal(mid.ok, true, `the stopped container verifies: ${JSON.stringify(mid.errors)}`)
    } else {
      t.equal(first.signal, 'SIGKILL')
      const rec = await maif(['recover', container, '--json'])
      t.equal(rec.code, 0, rec.stderr)
    }
    const second = await runUntil(env, null, 0, cursor)
    t.equal(second.code, 0)
    const report = JSON.parse(second.stdout) as { status: string; reconciled: boolean }
    t.equal(report.status, 'completed')
    t.equal(report.reconciled, true)
    const all = await contents(container, keys)
    t.equal(all.ok, true, `the completed container verifies: ${JSON.stringify(all.errors)}`)
    assertExactlyOnce(t, all.seen)
    // Every malformed line is dead-lettered exactly once across both runs: the resumed run re-reads lines
    // the first run had already dead-lettered (after the last checkpoint) and must not write them again.
    const dead = readFileSync(join(dir, 'out', 'job.dead.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { raw: string; source: { file: string; line: number } })
    t.ok(dead.every((d) => d.raw === '{"broken": '), 'only malformed lines are dead-lettered')
    const where = new Map<string, number>()
    for (const d of dead) where.set(`${d.source.file}:${d.source.line}`, (where.get(`${d.source.file}:${d.source.line}`) ?? 0) + 1)
    t.equal(where.size, FILES * BROKEN_PER_FILE, 'every malformed line is in the dead letters')
    t.same([...where].filter(([, n]) => n > 1), [], 'no malformed line is dead-lettered twice')
  })
}
