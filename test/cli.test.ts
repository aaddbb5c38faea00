// The maif CLI contract, run as real child processes: flags, outputs and exit codes (0, 1, 2).
import t from 'tap'
import { join } from 'node:path'
import { readFileSync, statSync, writeFileSync, copyFileSync, truncateSync, appendFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { maif } from './helpers/cli.js'

const SAMPLE = fileURLToPath(new URL('../samples/agent-logs.jsonl', import.meta.url))
const sampleLines = readFileSync(SAMPLE, 'utf8').split('\n').filter((l) => l.length > 0)
const goodLines = sampleLines.filter((l) => { try { JSON.parse(l); return true } catch { return false } })

t.test('keygen writes a 0600 secret key and refuses to overwrite it', async (t) => {
  const dir = t.testdir()
  const r = await maif(['keygen', '--out', join(dir, 'k')])
  t.equal(r.code, 0, r.stderr)
  t.equal(statSync(join(dir, 'k', 'maif.key')).mode & 0o777, 0o600)
  t.match(readFileSync(join(dir, 'k', 'maif.pub'), 'utf8'), /BEGIN PUBLIC KEY/)
  const again = await maif(['keygen', '--out', join(dir, 'k')])
  t.equal(again.code, 2)
  t.match(again.stderr, /already exists.*--force/)
  t.equal((await maif(['keygen', '--out', join(dir, 'k2'), '--alg', 'ed25519'])).code, 0)
  t.equal((await maif(['keygen', '--out', join(dir, 'k3'), '--alg', 'dsa'])).code, 2)
})

t.test('pack → verify → cat --jsonl reproduces the valid input lines; bad lines are rejected and counted', async (t) => {
  const dir = t.testdir()
  await maif(['keygen', '--out', join(dir, 'k')])
  const out = join(dir, 'a.maif')
  const p = await maif(['pack', SAMPLE, '-o', out, '--keyring', join(dir, 'k'), '--block-records', '300'])
  t.equal(p.code, 0, p.stderr)
  t.match(p.stdout, `lines read ${sampleLines.length} = packed ${goodLines.length} + rejected ${sampleLines.length - goodLines.length}`)
  const rejected = readFileSync(`${out}.rejected.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { source: { file: string; line: number }; reason: string; code: string; raw: string; stage: string })
  t.equal(rejected.length, sampleLines.length - goodLines.length)
  for (const r of rejected) {
    t.equal(sampleLines[r.source.line - 1], r.raw, `rejected line ${r.source.line} is recorded with its exact bytes`)
    t.equal(r.stage, 'source')
    t.equal(r.code, 'MAIF_ERR_RECORD')
    t.match(r.reason, /invalid JSON/)
  }
  const v = await maif(['verify', out, '--keyring', join(dir, 'k'), '--json'])
  t.equal(v.code, 0, v.stdout)
  const res = JSON.parse(v.stdout) as { ok: boolean; blocks: number; checkpoints: number; errors: unknown[]; records: number }
  t.equal(res.ok, true)
  t.equal(res.blocks, Math.ceil(goodLines.length / 300))
  t.equal(res.records, goodLines.length)
  t.ok(res.checkpoints >= 1)
  t.same(res.errors, [])
  const c = await maif(['cat', out, '--keyring', join(dir, 'k'), '--jsonl'])
  t.equal(c.code, 0, c.stderr)
  t.equal(c.stdout, goodLines.join('\n') + '\n', 'byte-identical to the valid input lines')
  // The second data block's seq comes from inspect: a time-based checkpoint may put an index box before it.
  const blocks = (JSON.parse((await maif(['inspect', out, '--json'])).stdout) as { blocks: Array<{ seq: number }> }).blocks
  const one = await maif(['cat', out, '--keyring', join(dir, 'k'), '--seq', String(blocks[1]!.seq)])
  t.equal(one.code, 0, one.stderr)
  t.equal(one.stdout, goodLines.slice(300, 600).join('\n') + '\n', 'random access by seq returns the second block')
  const missing = await maif(['cat', out, '--keyring', join(dir, 'k'), '--seq', '9999'])
  t.equal(missing.code, 1)
  t.match(missing.stderr, /MAIF_ERR_NOT_FOUND/)
})

t.test('verify: unpinned, pinned to the wrong key, and appended sessions', async (t) => {
  const dir = t.testdir()
  await maif(['keygen', '--out', join(dir, 'k')])
  await maif(['keygen', '--out', join(dir, 'other')])
  const out = join(dir, 'a.maif')
  await maif(['pack', SAMPLE, '-o', out, '--keyring', join(dir, 'k')])
  const before = readFileSync(out)
  const again = await maif(['pack', SAMPLE, '-o', out, '--keyring', join(dir, 'k'), '--codec', 'gzip'])
  t.equal(again.code, 0, again.stderr)
  t.same(readFileSync(out).subarray(0, before.length), before, 'appending leaves every earlier byte as it was')
  const unpinned = await maif(['verify', out, '--json'])
  const u = JSON.parse(unpinned.stdout) as { ok: boolean; pinned: boolean; sessions: number; signers: Array<{ pinned: boolean }>; warnings: string[] }
  t.equal(unpinned.code, 0)
  t.equal(u.pinned, false)
  t.equal(u.sessions, 2)
  t.equal(u.signers[0]?.pinned, false)
  t.match(u.warnings.join(' '), /no public key was pinned/)
  const human = await maif(['verify', out])
  t.match(human.stdout, /UNPINNED/)
  const wrong = await maif(['verify', out, '--pub', join(dir, 'other', 'maif.pub'), '--json'])
  t.equal(wrong.code, 1)
  t.equal((JSON.parse(wrong.stdout) as { errors: Array<{ code: string }> }).errors[0]?.code, 'MAIF_ERR_SIGNER_UNTRUSTED')
  const right = await maif(['verify', out, '--pub', join(dir, 'k', 'maif.pub')])
  t.equal(right.code, 0)
  t.match(right.stdout, /pinned/)
  const wrongKeyring = await maif(['cat', out, '--keyring', join(dir, 'other')])
  t.equal(wrongKeyring.code, 1, 'another keyring can neither pin nor decrypt')
})

t.test('witness: a dropped trailing session is caught against an earlier verify --json', async (t) => {
  const dir = t.testdir()
  await maif(['keygen', '--out', join(dir, 'k')])
  const out = join(dir, 'a.maif')
  await maif(['pack', SAMPLE, '-o', out, '--keyring', join(dir, 'k')])
  const firstSize = statSync(out).size
  await maif(['pack', SAMPLE, '-o', out, '--keyring', join(dir, 'k')])
  const w = await maif(['verify', out, '--pub', join(dir, 'k', 'maif.pub'), '--json'])
  writeFileSync(join(dir, 'witness.json'), w.stdout)
  const cut = join(dir, 'cut.maif')
  copyFileSync(out, cut)
  truncateSync(cut, firstSize)
  const plain = await maif(['verify', cut, '--pub', join(dir, 'k', 'maif.pub')])
  t.equal(plain.code, 0, 'without a witness the shorter file is a valid container')
  const withWitness = await maif(['verify', cut, '--pub', join(dir, 'k', 'maif.pub'), '--witness', join(dir, 'witness.json'), '--json'])
  t.equal(withWitness.code, 1)
  t.equal((JSON.parse(withWitness.stdout) as { errors: Array<{ code: string }> }).errors[0]?.code, 'MAIF_ERR_WITNESS')
  const same = await maif(['verify', out, '--witness', join(dir, 'witness.json')])
  t.equal(same.code, 0, 'the full file still matches its own witness')
})

t.test('inspect needs no key; recover cuts a torn tail and records it', async (t) => {
  const dir = t.testdir()
  await maif(['keygen', '--out', join(dir, 'k')])
  const out = join(dir, 'a.maif')
  await maif(['pack', SAMPLE, '-o', out, '--keyring', join(dir, 'k'), '--block-records', '500'])
  const i = await maif(['inspect', out, '--json'])
  t.equal(i.code, 0, i.stderr)
  const info = JSON.parse(i.stdout) as { blocks: Array<{ type: string; codec: string; encrypted: boolean; records: number }>; sessions: unknown[]; checkpoints: unknown[]; torn: string | null }
  t.equal(info.blocks.length, 4)
  t.ok(info.blocks.every((b) => b.type === 'JSON' && b.codec === 'zstd' && b.encrypted))
  t.equal(info.blocks.reduce((n, b) => n + b.records, 0), goodLines.length)
  t.equal(info.sessions.length, 1)
  t.equal(info.torn, null)
  t.match((await maif(['inspect', out])).stdout, /checkpoints:/)
  const size = statSync(out).size
  appendFileSync(out, Buffer.alloc(100, 7))
  const torn = await maif(['verify', out, '--json'])
  t.equal(torn.code, 1)
  const appendBlocked = await maif(['pack', SAMPLE, '-o', out, '--keyring', join(dir, 'k')])
  t.equal(appendBlocked.code, 1)
  t.match(appendBlocked.stderr, /MAIF_ERR_TORN.*maif recover/)
  const r = await maif(['recover', out, '--json'])
  t.equal(r.code, 0, r.stderr)
  const rec = JSON.parse(r.stdout) as { droppedBytes: number; keptBytes: number; logFile: string }
  t.equal(rec.droppedBytes, 100)
  t.equal(rec.keptBytes, size)
  t.equal(statSync(out).size, size)
  t.match(readFileSync(rec.logFile, 'utf8'), /"droppedBytes":100/)
  t.equal((await maif(['verify', out])).code, 0)
  t.match((await maif(['recover', out])).stdout, /clean/)
})

t.test('usage errors exit 2 with a message', async (t) => {
  const r1 = await maif(['pack'])
  t.equal(r1.code, 2)
  t.match(r1.stderr, /MAIF_ERR_USAGE/)
  t.equal((await maif(['frobnicate'])).code, 2)
  t.equal((await maif(['verify', '/nonexistent/file.maif'])).code, 2)
  t.equal((await maif(['pack', SAMPLE, '-o', '/tmp/x.maif', '--keyring', '/nonexistent/keys'])).code, 2)
  t.equal((await maif(['pack', SAMPLE, '-o', '/tmp/x.maif', '--format', 'xml', '--keyring', 'k'])).code, 2)
  t.equal((await maif(['--help'])).code, 0)
})

t.test('FIPS mode refuses to run outside a FIPS provider', async (t) => {
  const r = await maif(['inspect', SAMPLE], { env: { MAIF_FIPS: '1' } })
  // This machine's Node has no FIPS provider (crypto.getFips() is 0), so the refusal is what can be tested.
  t.equal(r.code, 2)
  t.match(r.stderr, /MAIF_ERR_FIPS.*FIPS provider/)
})
