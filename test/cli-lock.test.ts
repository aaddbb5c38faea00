// One writer at a time: `maif pack` takes FILE.lock (O_EXCL, with its pid and host) when it opens the container
// and removes it when it closes. A second writer gets MAIF_ERR_LOCKED naming the holder; a lock left by a writer
// killed with SIGKILL is stale (its pid is dead on this host) and is taken over. Real child processes throughout.
import t, { type Test } from 'tap'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { join } from 'node:path'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { CLI, maif } from './helpers/cli.js'

const lines = (from: number, n: number): string => Array.from({ length: n }, (_, i) => JSON.stringify({ i: from + i, msg: `line ${from + i}` })).join('\n') + '\n'

/** `maif pack - -o out` reading its records from a stdin the test controls. */
function packFromStdin(out: string, keys: string): { child: ChildProcessWithoutNullStreams; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [CLI, 'pack', '-', '-o', out, '--keyring', keys], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((res) => child.on('close', (code, signal) => res({ code, signal, stdout, stderr })))
  return { child, done }
}

async function waitFor(cond: () => boolean, what: string, ms = 15000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

function readLock(path: string): { pid: number; host: string } {
  return JSON.parse(readFileSync(path, 'utf8')) as { pid: number; host: string }
}

/** The lock file exists and has been written (it is created first, then filled). */
function lockWritten(path: string): boolean {
  try {
    return typeof readLock(path).pid === 'number'
  } catch {
    return false
  }
}

t.test('two concurrent packs into one container: the second is refused with MAIF_ERR_LOCKED, the file verifies', async (t) => {
  const dir = t.testdir()
  const keys = join(dir, 'k')
  t.equal((await maif(['keygen', '--out', keys])).code, 0)
  const out = join(dir, 'c.maif')
  const lock = `${out}.lock`
  const small = join(dir, 'small.jsonl')
  writeFileSync(small, lines(1000, 20))

  const first = packFromStdin(out, keys)
  first.child.stdin.write(lines(0, 50))
  t.teardown(() => { if (first.child.exitCode === null && first.child.signalCode === null) first.child.kill('SIGKILL') })
  await waitFor(() => lockWritten(lock), 'the first writer to take the lock')
  const holder = readLock(lock)
  t.equal(holder.pid, first.child.pid, 'the lock names the first writer’s pid')
  t.equal(holder.host, hostname(), 'and its host')

  // The first writer is still open (its stdin is not closed): a second writer and a recover must both wait.
  const second = await maif(['pack', small, '-o', out, '--keyring', keys])
  t.equal(second.code, 2, 'the second writer exits 2')
  t.match(second.stderr, /MAIF_ERR_LOCKED/)
  t.match(second.stderr, new RegExp(`pid ${first.child.pid} on host ${hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), 'naming the holder')
  const rec = await maif(['recover', out])
  t.equal(rec.code, 2, 'recover does not cut a file a writer holds')
  t.match(rec.stderr, /MAIF_ERR_LOCKED/)

  first.child.stdin.end(lines(50, 50))
  const r1 = await first.done
  t.equal(r1.code, 0, `the first writer finishes (${r1.stderr})`)
  t.notOk(existsSync(lock), 'and removes its lock')
  const v1 = await maif(['verify', out, '--keyring', keys, '--json'])
  t.equal(v1.code, 0, v1.stdout)
  t.equal((JSON.parse(v1.stdout) as { records: number }).records, 100, 'the container holds the first writer’s 100 records only')

  const again = await maif(['pack', small, '-o', out, '--keyring', keys])
  t.equal(again.code, 0, `once the lock is free the second writer appends (${again.stderr})`)
  const v2 = await maif(['verify', out, '--keyring', keys, '--json'])
  t.equal(v2.code, 0, v2.stdout)
  t.same((({ records, sessions }) => ({ records, sessions }))(JSON.parse(v2.stdout) as { records: number; sessions: number }), { records: 120, sessions: 2 })
  t.notOk(existsSync(lock))
})

/** A keyring, a container path and its lock path, and a small input of `records` lines. */
async function setup(t: Test, records: number): Promise<{ dir: string; keys: string; out: string; lock: string; small: string }> {
  const dir = t.testdir()
  const keys = join(dir, 'k')
  await maif(['keygen', '--out', keys])
  const out = join(dir, 'c.maif')
  const small = join(dir, 'small.jsonl')
  writeFileSync(small, lines(0, records))
  return { dir, keys, out, lock: `${out}.lock`, small }
}

t.test('a lock left by a SIGKILLed writer is stale and is taken over', async (t) => {
  const { keys, out, lock, small } = await setup(t, 10)
  t.equal((await maif(['pack', small, '-o', out, '--keyring', keys])).code, 0)

  const victim = packFromStdin(out, keys)
  victim.child.stdin.write(lines(100, 10))
  t.teardown(() => { if (victim.child.exitCode === null && victim.child.signalCode === null) victim.child.kill('SIGKILL') })
  await waitFor(() => lockWritten(lock), 'the writer to take the lock')
  t.equal(readLock(lock).pid, victim.child.pid)
  victim.child.kill('SIGKILL')
  const r = await victim.done
  t.equal(r.signal, 'SIGKILL')
  t.ok(existsSync(lock), 'SIGKILL leaves the lock file behind')
  t.equal(readLock(lock).pid, victim.child.pid, 'naming a pid that is now dead')

  const next = await maif(['pack', small, '-o', out, '--keyring', keys])
  t.equal(next.code, 0, `the next writer takes the stale lock over (${next.stderr})`)
  t.notOk(existsSync(lock), 'and removes it when done')
  const v = await maif(['verify', out, '--keyring', keys, '--json'])
  t.equal(v.code, 0, v.stdout)
  t.equal((JSON.parse(v.stdout) as { records: number }).records, 20)
})

t.test('locks written by hand: a dead pid here is stale; a holder on another host is refused', async (t) => {
  const { keys, out, lock, small } = await setup(t, 5)
  // A pid that cannot be running: above the kernel's pid_max (at most 2^22).
  writeFileSync(lock, JSON.stringify({ pid: 2 ** 22 + 17, host: hostname(), start: null, since: '2020-01-01T00:00:00.000Z', purpose: 'maif pack', nonce: 'aa' }))
  const stale = await maif(['pack', small, '-o', out, '--keyring', keys])
  t.equal(stale.code, 0, `a dead pid on this host: taken over (${stale.stderr})`)
  t.notOk(existsSync(lock))

  writeFileSync(lock, JSON.stringify({ pid: 1, host: 'elsewhere.example', start: null, since: '2020-01-01T00:00:00.000Z', purpose: 'maif pack', nonce: 'bb' }))
  const remote = await maif(['pack', small, '-o', out, '--keyring', keys])
  t.equal(remote.code, 2)
  t.match(remote.stderr, /MAIF_ERR_LOCKED: .*locked by pid 1 on host elsewhere\.example/)
  t.ok(existsSync(lock), 'a lock from another host is left alone')
  t.equal((await maif(['verify', out, '--keyring', keys])).code, 0, 'the container was not touched')

  // A live process on this host (this test's own pid) holds it: refused.
  writeFileSync(lock, JSON.stringify({ pid: process.pid, host: hostname(), start: null, since: '2020-01-01T00:00:00.000Z', purpose: 'test', nonce: 'cc' }))
  const live = await maif(['pack', small, '-o', out, '--keyring', keys])
  t.equal(live.code, 2)
  t.match(live.stderr, new RegExp(`MAIF_ERR_LOCKED: .*pid ${process.pid} `))
})
