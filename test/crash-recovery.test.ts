// A writer killed with SIGKILL at arbitrary moments loses no record it had acknowledged as committed.
import t from 'tap'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { statSync } from 'node:fs'
import { generateKeyring, loadKeyring } from '../src/core/format/keyring.js'
import { verifyContainer } from '../src/core/container/verify.js'
import { recoverContainer } from '../src/core/container/recover.js'

const writer = fileURLToPath(new URL('./fixtures/crash-writer.mjs', import.meta.url))

function runAndKill(path: string, keys: string, afterCommits: number, extraMs: number): Promise<{ treeSize: number; records: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writer, path, keys], { stdio: ['ignore', 'pipe', 'inherit'] })
    let acked = { treeSize: 0, records: 0 }
    let commits = 0
    let buf = ''
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString()
      let nl
      while ((nl = buf.indexOf('\n')) !== -1) {
        acked = JSON.parse(buf.slice(0, nl)) as typeof acked
        buf = buf.slice(nl + 1)
        if (++commits === afterCommits) setTimeout(() => child.kill('SIGKILL'), extraMs)
      }
    })
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve(acked) : reject(new Error(`writer exited ${code} ${signal}`))))
  })
}

t.test('SIGKILL mid-write: every acknowledged record survives recovery, in order', async (t) => {
  const dir = t.testdir()
  await generateKeyring(join(dir, 'keys'))
  const kr = await loadKeyring(join(dir, 'keys'))
  const file = join(dir, 'crash.maif')
  let totalAcked = 0
  // Three writer lives on one file: each is killed, recovered, and the next appends to it.
  for (const [commits, delay] of [[3, 0], [2, 7], [4, 3]] as const) {
    const acked = await runAndKill(file, join(dir, 'keys'), commits, delay)
    t.ok(acked.records > 0, `the writer acknowledged ${acked.records} records before it was killed`)
    totalAcked += acked.records
    const before = statSync(file).size
    const rec = await recoverContainer(file)
    t.ok(rec.keptBytes <= before, 'recovery only cuts')
    const got: number[] = []
    const r = await verifyContainer(file, {
      keyProvider: kr, pinned: [kr.signer.publicKey],
      onBlock: (b) => { for (const line of b.data.toString().split('\n')) if (line) got.push((JSON.parse(line) as { i: number }).i) },
    })
    t.equal(r.ok, true, `the recovered container verifies: ${JSON.stringify(r.errors)}`)
    t.ok(r.records >= totalAcked, `all ${totalAcked} acknowledged records are there (found ${r.records})`)
    // Each life numbers its records from 0; the acknowledged prefix of every life must be intact.
    const lives: number[][] = []
    for (const i of got) (i === 0 || lives.length === 0 ? lives.push([i]) : lives[lives.length - 1]!.push(i))
    t.ok(lives.every((l) => l.every((v, k) => v === k)), 'records of every life are complete and in order')
    totalAcked = r.records
  }
})
