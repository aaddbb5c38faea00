// `maif pack -` fed through stdin that stays open: SIGTERM stops it at once (the pending read is interrupted),
// it writes a final checkpoint and exits 0, and the container verifies without `recover`, holding every line
// it had read. (Lines still in the pipe, never read, stay unread: a stop takes nothing more from the input.)
import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { generateKeyring } from '../src/core/format/keyring.js'
import { CLI, maif } from './helpers/cli.js'

/** The child reads our pipe as its stdin; tap's process-info hook (NODE_OPTIONS) is kept out of it. */
function childEnv(): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _n, ...env } = process.env
  return env
}

const LINES = 500

function startPack(out: string, keys: string): { child: ReturnType<typeof spawn>; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> } {
  const child = spawn(process.execPath, [CLI, 'pack', '-', '-o', out, '--keyring', keys], { stdio: ['pipe', 'pipe', 'pipe'], env: childEnv() })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
  child.stdout!.resume()
  child.stdin!.on('error', () => undefined) // the outcome is judged by the exit code and the container
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })))
  return { child, done }
}

t.test('SIGTERM on an open, idle stdin: exit 0 and a container that verifies as it is', async (t) => {
  const dir = t.testdir()
  const keys = join(dir, 'keys')
  await generateKeyring(keys)
  const out = join(dir, 'c.maif')
  const { child, done } = startPack(out, keys)
  for (let i = 0; i < LINES; i++) child.stdin!.write(JSON.stringify({ i, msg: 'x'.repeat(i % 50) }) + '\n')
  // Wait until the lines were read (the first commit holds them: blocks close after 1 s), then stdin idles, open.
  for (let waited = 0; waited < 30_000 && (!existsSync(out) || statSync(out).size === 0); waited += 100) await sleep(100)
  await sleep(500)
  const sent = Date.now()
  child.kill('SIGTERM')
  const r = await done
  t.equal(r.code, 0, r.stderr)
  t.ok(Date.now() - sent < 5000, 'it stops promptly although stdin is still open')
  child.stdin!.destroy()
  const v = await maif(['verify', out, '--keyring', keys, '--json'])
  t.equal(v.code, 0, `verifies without recover: ${v.stdout}`)
  t.equal((JSON.parse(v.stdout) as { records: number }).records, LINES, 'every line read before the signal is in the container')
})
