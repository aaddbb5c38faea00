// maif recover is for torn tails only. It never deletes data that a valid later checkpoint covers: damage in the
// middle is refused (exit 1) with a report of what is wrong and where; --salvage OUT writes what still verifies to
// a new file and leaves the original alone. Whatever it cuts, it first saves as bytes in a sidecar file and records
// in FILE.recovery.jsonl; when it cannot save them (no space, a failed write) it cuts nothing.
import t, { type Test } from 'tap'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { maif } from './helpers/cli.js'
import { recoverContainer } from '../src/core/container/recover.js'
import { generateKeyring, loadKeyring } from '../src/core/format/keyring.js'
import { writeContainer } from '../src/core/container/writer.js'

interface Block { seq: number; offset: number; size: number; records: number }

const records = (from: number, n: number): Array<Record<string, unknown>> => Array.from({ length: n }, (_, i) => ({ i: from + i, msg: `record ${from + i}` }))

/**
 * Three sessions, written through the API with commits on block counts only (no time-based commits, so the layout
 * does not depend on the machine's speed): session 1 has two commits (blocks 1-2, then block 3 at close),
 * sessions 2 and 3 one each.
 */
async function threeSessions(t: Test): Promise<{ dir: string; keys: string; c: string; blocks: Block[]; commitEnds: number[] }> {
  const dir = t.testdir()
  const keys = join(dir, 'k')
  await generateKeyring(keys)
  const kr = await loadKeyring(keys)
  const c = join(dir, 'c.maif')
  const opts = { keyProvider: kr, signer: kr.signer, framer: { blockRecords: 10 }, fsync: 'never' as const }
  await writeContainer(c, records(0, 30), { ...opts, checkpointEvery: { blocks: 2, ms: 0 } })
  await writeContainer(c, records(30, 20), { ...opts, checkpointEvery: { ms: 0 } })
  await writeContainer(c, records(50, 20), { ...opts, checkpointEvery: { ms: 0 } })
  const info = JSON.parse((await maif(['inspect', c, '--json'])).stdout) as { blocks: Block[]; checkpoints: Array<{ offset: number }>; sessions: unknown[] }
  t.equal(info.sessions.length, 3, 'precondition: three sessions')
  t.equal(info.checkpoints.length, 4, 'precondition: four commits (two in session 1)')
  // A commit ends with its 128-byte tail, right after the checkpoint box.
  const all = readFileSync(c)
  const commitEnds = info.checkpoints.map((k) => k.offset + Number(all.readBigUInt64BE(k.offset + 8)) + 128)
  t.equal(commitEnds[3], all.length)
  return { dir, keys, c, blocks: info.blocks, commitEnds }
}

const sidecars = (dir: string): string[] => readdirSync(dir).filter((f) => /\.recovery-\d+(-\d+)?\.bin$/.test(f))

t.test('one flipped byte inside a committed block of session 1: recover refuses and changes nothing', async (t) => {
  const { dir, c, blocks } = await threeSessions(t)
  const victim = blocks[2]! // block 3: in session 1's second commit
  const next = victim.offset + victim.size // the box after it, whose link to it breaks
  const bytes = readFileSync(c)
  bytes[victim.offset + victim.size - 20]! ^= 0x01 // inside its ciphertext
  writeFileSync(c, bytes)
  const r = await maif(['recover', c])
  t.equal(r.code, 1, 'refused (exit 1)')
  t.match(r.stderr, /MAIF_ERR_RECOVERY_REFUSED/)
  t.match(r.stderr, new RegExp(`offset ${next}\\b`), 'the report says where the damage was found (the box after the flipped one no longer links)')
  t.match(r.stderr, /--salvage/, 'and what to do instead')
  t.ok(readFileSync(c).equals(bytes), 'the file is unchanged')
  t.same(sidecars(dir), [], 'nothing was saved aside: nothing was cut')
  t.notOk(existsSync(`${c}.recovery.jsonl`))

  const j = await maif(['recover', c, '--json'])
  t.equal(j.code, 1)
  const rep = JSON.parse(j.stdout) as { action: string; damage: { code: string; offset: number }; laterCommits: Array<{ treeSize: number }>; keptBytes: number; droppedBytes: number }
  t.equal(rep.action, 'refused')
  t.same({ code: rep.damage.code, offset: rep.damage.offset }, { code: 'MAIF_ERR_CHAIN', offset: next })
  t.equal(rep.laterCommits.length, 3, 'the three valid commits after the damage are listed')
  t.equal(rep.droppedBytes, 0, 'nothing dropped')
  t.equal((await maif(['recover', c, '--dry-run'])).code, 1, 'a dry run says the same')
})

t.test('--salvage OUT writes what still verifies to a new file, never touching the original', async (t) => {
  const { dir, keys, c, blocks, commitEnds } = await threeSessions(t)
  const bytes = readFileSync(c)
  bytes[blocks[2]!.offset + blocks[2]!.size - 20]! ^= 0x01
  writeFileSync(c, bytes)
  const out = join(dir, 'salvaged.maif')
  const r = await maif(['recover', c, '--salvage', out, '--json'])
  t.equal(r.code, 0, r.stderr)
  const rep = JSON.parse(r.stdout) as { action: string; salvage: { path: string; bytes: number; treeSize: number } }
  t.equal(rep.action, 'salvaged')
  t.equal(rep.salvage.bytes, commitEnds[0], 'the verified prefix: session 1 up to its first commit')
  t.ok(readFileSync(c).equals(bytes), 'the original is unchanged')
  t.ok(readFileSync(out).equals(bytes.subarray(0, commitEnds[0])), 'the new file is that prefix, byte for byte')
  const v = await maif(['verify', out, '--keyring', keys, '--json'])
  t.equal(v.code, 0, v.stdout)
  t.equal((JSON.parse(v.stdout) as { records: number }).records, 20, 'and it verifies, with the 20 records of the first commit')
  const again = await maif(['recover', c, '--salvage', out])
  t.equal(again.code, 2, 'an existing OUT is never overwritten')
  t.match(again.stderr, /exists/)
  const self = await maif(['recover', c, '--salvage', c])
  t.equal(self.code, 2, 'OUT cannot be the container itself')
  t.ok(readFileSync(c).equals(bytes))
})

t.test('a torn tail is cut, and the cut bytes are saved first, byte for byte', async (t) => {
  const { dir, keys, c } = await threeSessions(t)
  const clean = readFileSync(c)
  // A writer killed mid-commit: the start of a fourth session, torn inside a box.
  const torn = Buffer.concat([Buffer.from(clean.subarray(100, 100 + 700))]) // bytes that look like boxes
  appendFileSync(c, torn)
  const before = readFileSync(c)
  const dry = await maif(['recover', c, '--dry-run', '--json'])
  t.equal(dry.code, 0)
  t.equal((JSON.parse(dry.stdout) as { action: string; droppedBytes: number }).action, 'would-cut')
  t.ok(readFileSync(c).equals(before), 'a dry run changes nothing')
  t.same(sidecars(dir), [])

  const r = await maif(['recover', c, '--json'])
  t.equal(r.code, 0, r.stderr)
  const rep = JSON.parse(r.stdout) as { action: string; keptBytes: number; droppedBytes: number; savedTo: string; logFile: string }
  t.equal(rep.action, 'cut')
  t.same([rep.keptBytes, rep.droppedBytes], [clean.length, torn.length])
  t.equal(rep.savedTo, `${c}.recovery-${clean.length}.bin`, 'saved beside the container, named by the offset it was cut at')
  t.ok(readFileSync(rep.savedTo).equals(torn), 'the sidecar holds exactly the bytes that were cut')
  const log = readFileSync(rep.logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { savedTo: string; sha256: string; droppedBytes: number; keptBytes: number })
  t.equal(log.length, 1)
  t.same({ savedTo: log[0]!.savedTo, sha256: log[0]!.sha256, droppedBytes: log[0]!.droppedBytes }, { savedTo: rep.savedTo, sha256: createHash('sha256').update(torn).digest('hex'), droppedBytes: torn.length }, 'the record names the sidecar and its hash')
  t.ok(readFileSync(c).equals(clean), 'the container is back to its last commit')
  t.equal((await maif(['verify', c, '--keyring', keys])).code, 0)
  // The same cut again (the same offset): a second sidecar, the first one is kept.
  appendFileSync(c, torn)
  const r2 = await maif(['recover', c, '--json'])
  t.equal(r2.code, 0)
  const saved2 = (JSON.parse(r2.stdout) as { savedTo: string }).savedTo
  t.not(saved2, rep.savedTo)
  t.ok(readFileSync(rep.savedTo).equals(torn) && readFileSync(saved2).equals(torn), 'both sidecars hold their bytes')
  t.match((await maif(['recover', c])).stdout, /clean/)
})

t.test('a torn tail inside the last commit’s boxes (truncation) is cut back to the previous commit', async (t) => {
  const { dir, c, commitEnds } = await threeSessions(t)
  const full = readFileSync(c)
  truncateSync(c, full.length - 50) // the tail of session 3 is torn
  const r = await maif(['recover', c, '--json'])
  t.equal(r.code, 0, r.stderr)
  const rep = JSON.parse(r.stdout) as { keptBytes: number; savedTo: string }
  t.equal(rep.keptBytes, commitEnds[2], 'back to the end of session 2')
  t.ok(readFileSync(rep.savedTo).equals(full.subarray(commitEnds[2]!, full.length - 50)))
  t.equal(sidecars(dir).length, 1)
})

t.test('when the cut bytes cannot be saved, nothing is cut', async (t) => {
  const { dir, c } = await threeSessions(t)
  appendFileSync(c, Buffer.alloc(300, 9))
  const before = readFileSync(c)
  // The record file cannot be written (a directory is in its place): the save fails, the cut does not happen.
  mkdirSync(`${c}.recovery.jsonl`)
  const r = await maif(['recover', c])
  t.equal(r.code, 2, 'an I/O error')
  t.match(r.stderr, /nothing was cut/)
  t.ok(readFileSync(c).equals(before), 'the container is unchanged')
  t.same(sidecars(dir), [], 'and no half-saved sidecar is left behind')

  await t.test('no space for the sidecar (statfs says so): refused before anything is written', async (t) => {
    const size = statSync(c).size
    await t.rejects(recoverContainer(c, { statfs: async () => ({ bavail: 0, bsize: 4096 }) }), { code: 'MAIF_ERR_NO_SPACE', message: /300 bytes.*nothing was cut/s })
    t.equal(statSync(c).size, size)
    t.same(sidecars(dir), [])
  })
})
