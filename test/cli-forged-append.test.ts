// Forged sessions never reach cat's output. Someone without our key can append a session signed by their own
// key; cat (pinned to our key) must print nothing that a checkpoint verified against a pinned key does not cover,
// and must hold at most a bounded window of unverified bytes. Our own writer refuses, unless told explicitly,
// to add a second signer to a container or a plaintext session to an encrypted one.
import t, { type Test } from 'tap'
import { join } from 'node:path'
import { createWriteStream, readFileSync, statSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { maif } from './helpers/cli.js'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { loadKeyring } from '../src/core/format/keyring.js'
import { writeContainer } from '../src/core/container/writer.js'
import { verifyContainer } from '../src/core/container/verify.js'
import type { ContainerWriterOptions } from '../src/core/container/writer.js'

const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url))
const legit = Array.from({ length: 40 }, (_, i) => JSON.stringify({ i, who: 'owner', msg: `legitimate ${i}` }))
const forged = Array.from({ length: 25 }, (_, i) => JSON.stringify({ i, who: 'FORGER', msg: `forged ${i}` }))

async function setup(t: Test): Promise<{ dir: string; mine: string; other: string; c: string; forgedFile: string }> {
  const dir = t.testdir()
  const mine = join(dir, 'mine')
  const other = join(dir, 'other')
  t.equal((await maif(['keygen', '--out', mine])).code, 0)
  t.equal((await maif(['keygen', '--out', other])).code, 0)
  writeFileSync(join(dir, 'legit.jsonl'), legit.join('\n') + '\n')
  const forgedFile = join(dir, 'forged.jsonl')
  writeFileSync(forgedFile, forged.join('\n') + '\n')
  const c = join(dir, 'c.maif')
  const p = await maif(['pack', join(dir, 'legit.jsonl'), '-o', c, '--keyring', mine, '--block-records', '10'])
  t.equal(p.code, 0, p.stderr)
  return { dir, mine, other, c, forgedFile }
}

/**
 * What a forger with their own keyring appends with a tool of their own (our writer's refusals do not bind them).
 * It runs in a child process: a child's max RSS starts from its parent's at fork, so the test process stays small.
 */
async function appendForged(c: string, otherDir: string, records: { repeat: string; times: number } | unknown[], extra: Partial<ContainerWriterOptions> = {}): Promise<void> {
  const script = `
    import { loadKeyring, writeContainer } from ${JSON.stringify(DIST)}
    const [c, dir, recs, extra] = JSON.parse(process.argv[1])
    const kr = await loadKeyring(dir)
    const records = Array.isArray(recs) ? recs : [recs.repeat.repeat(recs.times)]
    await writeContainer(c, records, { signer: kr.signer, encryption: 'none', framer: { blockRecords: 5 }, allowNewSigner: true, allowPlaintextAppend: true, ...extra })
  `
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, JSON.stringify([c, otherDir, records, extra])], { stdio: ['ignore', 'inherit', 'inherit'] })
  const code = await new Promise((res) => child.on('close', res))
  if (code !== 0) throw new Error(`the forger's writer exited ${String(code)}`)
}

t.test('maif pack refuses a second signer and a plaintext session on an encrypted container unless told explicitly', async (t) => {
  const { mine, other, c, forgedFile } = await setup(t)
  const before = readFileSync(c)
  const cases: Array<[string, string[], RegExp]> = [
    ['another signer, plaintext', ['--keyring', other, '--plaintext'], /MAIF_ERR_SIGNER_MISMATCH/],
    ['another signer, encrypted', ['--keyring', other], /MAIF_ERR_SIGNER_MISMATCH/],
    ['the same signer, plaintext onto encrypted', ['--keyring', mine, '--plaintext'], /MAIF_ERR_PLAINTEXT_APPEND/],
    ['another signer allowed, plaintext not', ['--keyring', other, '--plaintext', '--allow-new-signer'], /MAIF_ERR_PLAINTEXT_APPEND/],
  ]
  for (const [name, args, code] of cases) {
    const r = await maif(['pack', forgedFile, '-o', c, ...args])
    t.equal(r.code, 2, `${name}: refused (exit 2)`)
    t.match(r.stderr, code, `${name}: ${code.source}`)
    t.ok(readFileSync(c).equals(before), `${name}: the container is unchanged`)
  }
  const signer = await maif(['pack', forgedFile, '-o', c, '--keyring', mine, '--plaintext'])
  t.match(signer.stderr, /--allow-plaintext-append/, 'the refusal names the flag that allows it')
  const other1 = await maif(['pack', forgedFile, '-o', c, '--keyring', other])
  t.match(other1.stderr, /--allow-new-signer/, 'the refusal names the flag that allows it')

  const same = await maif(['pack', forgedFile, '-o', c, '--keyring', mine])
  t.equal(same.code, 0, `the same signer, encrypted: appends as before (${same.stderr})`)
  const explicit = await maif(['pack', forgedFile, '-o', c, '--keyring', other, '--plaintext', '--allow-new-signer', '--allow-plaintext-append'])
  t.equal(explicit.code, 0, `both flags: the mixed container is written (${explicit.stderr})`)

  // A container with two signers verifies only with both pinned.
  const one = await maif(['verify', c, '--keyring', mine, '--json'])
  t.equal(one.code, 1)
  t.equal((JSON.parse(one.stdout) as { errors: Array<{ code: string }> }).errors[0]?.code, 'MAIF_ERR_SIGNER_UNTRUSTED')
  const both = await maif(['verify', c, '--keyring', mine, '--pub', join(other, 'maif.pub'), '--json'])
  t.equal(both.code, 0, both.stdout)
  t.equal((JSON.parse(both.stdout) as { signers: unknown[] }).signers.length, 2)
  const catBoth = await maif(['cat', c, '--keyring', mine, '--pub', join(other, 'maif.pub'), '--jsonl'])
  t.equal(catBoth.code, 0, catBoth.stderr)
  t.equal(catBoth.stdout, [...legit, ...forged, ...forged].join('\n') + '\n', 'cat with every signer pinned prints all three sessions')
})

t.test('cat prints nothing of a forged session: not one byte before its checkpoint fails', async (t) => {
  const { mine, other, c } = await setup(t)
  await appendForged(c, other, forged)
  const r = await maif(['cat', c, '--keyring', mine, '--jsonl'])
  t.equal(r.code, 1, 'cat fails')
  t.match(r.stderr, /MAIF_ERR_SIGNER_UNTRUSTED/)
  t.notMatch(r.stdout, /FORGER/, 'no forged record reached stdout')
  t.equal(r.stdout, legit.join('\n') + '\n', 'exactly the records our checkpoints cover')
  const raw = await maif(['cat', c, '--keyring', mine])
  t.notMatch(raw.stdout, /FORGER/, 'nor without --jsonl')

  await t.test('the API releases blocks to onBlock only once their checkpoint verified', async (t) => {
    const kr = await loadKeyring(mine)
    const seen: string[] = []
    const res = await verifyContainer(c, { keyProvider: kr, pinned: [kr.signer.publicKey], onBlock: (b) => { seen.push(b.data.toString()) } })
    t.equal(res.ok, false)
    t.notMatch(seen.join(''), /FORGER/)
    t.equal(seen.join(''), legit.join('\n') + '\n')
  })
})

t.test('a forged zstd bomb is never expanded onto stdout', async (t) => {
  const { dir, mine, other, c } = await setup(t)
  const base = await maif(['cat', c, '--keyring', mine], { stdoutFile: createWriteStream(join(dir, 'base.txt')) })
  t.equal(base.code, 0)
  // One 48 MiB record of one repeated byte: a block of a few KiB that expands to 48 MiB.
  await appendForged(c, other, { repeat: 'A', times: 48 << 20 }, { codec: 'zstd', framer: { blockRecords: 1 } })
  t.ok(statSync(c).size < 1 << 20, `the forged container is small (${statSync(c).size} bytes)`)
  const outFile = join(dir, 'out.txt')
  const r = await maif(['cat', c, '--keyring', mine], { stdoutFile: createWriteStream(outFile) })
  t.equal(r.code, 1)
  const size = statSync(outFile).size
  t.equal(size, Buffer.byteLength(legit.join('\n') + '\n'), `only the legitimate bytes were written (${size} bytes)`)
  const grew = (r.maxRssKiB ?? Infinity) - (base.maxRssKiB ?? 0)
  t.ok(grew < 24 * 1024, `and the bomb was not expanded in memory either (max RSS ${r.maxRssKiB} KiB, ${grew} KiB over reading the legitimate part alone)`)
})

t.test('cat holds at most --window bytes of unverified blocks, and refuses a session that holds more', async (t) => {
  const dir = t.testdir()
  const mine = join(dir, 'mine')
  await maif(['keygen', '--out', mine])
  // ~600 KB of barely compressible lines, all in one commit: written through the API with no time-based commit,
  // so the layout does not depend on the machine's speed.
  const lines = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ i, r: randomBytes(80).toString('hex') }))
  const c = join(dir, 'w.maif')
  const kr = await loadKeyring(mine)
  await writeContainer(c, lines, { keyProvider: kr, signer: kr.signer, framer: { blockRecords: 100 }, checkpointEvery: { blocks: 1000, ms: 0 }, fsync: 'never' })
  const info = JSON.parse((await maif(['inspect', c, '--json'])).stdout) as { checkpoints: unknown[]; blocks: Array<{ size: number }> }
  t.equal(info.checkpoints.length, 1, 'precondition: one commit')
  const held = info.blocks.reduce((n, b) => n + b.size, 0)
  t.ok(held > 128 << 10, `precondition: the commit holds ${held} bytes of blocks`)

  const small = await maif(['cat', c, '--keyring', mine, '--jsonl', '--window', '64K'])
  t.equal(small.code, 1, 'a session holding more than the window before its checkpoint is refused')
  t.match(small.stderr, /MAIF_ERR_WINDOW/)
  t.match(small.stderr, /--window/, 'the error says how to raise the window')
  t.equal(small.stdout, '', 'and nothing of it was printed')
  const big = await maif(['cat', c, '--keyring', mine, '--jsonl', '--window', String(held + 4096)])
  t.equal(big.code, 0, big.stderr)
  t.equal(big.stdout, lines.join('\n') + '\n')
  const dflt = await maif(['cat', c, '--keyring', mine, '--jsonl'])
  t.equal(dflt.code, 0, 'the default window holds it')
  const bad = await maif(['cat', c, '--keyring', mine, '--window', 'lots'])
  t.equal(bad.code, 2, 'a malformed --window is a usage error')
})
