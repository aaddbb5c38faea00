// The streaming read path (containerSource → Verifier → Decryptor → Decompressor → Deframer) and the
// random-access reader with its RFC 9162 proofs.
import t from 'tap'
import { join } from 'node:path'
import { readFileSync, writeFileSync } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { Writable } from 'node:stream'
import { generateKeyring, loadKeyring } from '../src/core/format/keyring.js'
import { writeContainer } from '../src/core/container/writer.js'
import { containerSource } from '../src/core/container/read/source.js'
import { Verifier } from '../src/core/container/read/verifier.js'
import { Decryptor } from '../src/core/container/read/decryptor.js'
import { Decompressor } from '../src/core/container/read/decompressor.js'
import { Deframer, type BinaryPiece } from '../src/core/container/read/deframer.js'
import { ContainerReader } from '../src/core/container/reader.js'
import { verifyInclusion, verifyConsistency } from '../src/core/format/merkle.js'
import { MaifError } from '../src/core/errors.js'

async function collect(path: string, stages: ConstructorParameters<typeof Decryptor>[0], parse = false): Promise<unknown[]> {
  const out: unknown[] = []
  await pipeline(containerSource(path), new Verifier(), new Decryptor(stages), new Decompressor(), new Deframer({ parse }),
    new Writable({ objectMode: true, write(r, _e, cb) { out.push(r); cb() } }))
  return out
}

t.test('records stream back out of a container, in order, only after authentication', async (t) => {
  const dir = t.testdir()
  await generateKeyring(join(dir, 'k'))
  const kr = await loadKeyring(join(dir, 'k'))
  const file = join(dir, 'a.maif')
  const recs = Array.from({ length: 50 }, (_, i) => ({ i, s: 'r'.repeat(i) }))
  await writeContainer(file, recs, { keyProvider: kr, signer: kr.signer, framer: { blockRecords: 7 } })
  await writeContainer(file, [{ i: 50 }], { keyProvider: kr, signer: kr.signer })
  const got = await collect(file, { keyProvider: kr }, true)
  t.same(got, [...recs, { i: 50 }], 'two sessions, every record, parsed')
  const raw = (await collect(file, { keyProvider: kr })) as Buffer[]
  t.equal(raw[3]!.toString(), JSON.stringify(recs[3]), 'without parse, each record is its exact bytes')

  // A flipped ciphertext byte: the stream fails with a typed error and never yields that block.
  const bad = join(dir, 'bad.maif')
  const bytes = readFileSync(file)
  const i = bytes.indexOf(Buffer.from('JSON', 'latin1'), 200)
  bytes[i + 200] = (bytes[i + 200] ?? 0) ^ 1
  writeFileSync(bad, bytes)
  const seen: unknown[] = []
  const err = await pipeline(containerSource(bad), new Verifier(), new Decryptor({ keyProvider: kr }), new Decompressor(), new Deframer({ parse: true }),
    new Writable({ objectMode: true, write(r, _e, cb) { seen.push(r); cb() } })).then(() => null, (e: unknown) => e)
  t.ok(err instanceof MaifError, 'a MaifError')
  t.match((err as MaifError).code, /^MAIF_ERR_(DECRYPT|CHAIN)$/)
  t.ok(seen.length < 50, 'records after the damage are not released')
})

t.test('a plaintext session is refused by the decryptor unless allowed', async (t) => {
  const dir = t.testdir()
  await generateKeyring(join(dir, 'k'))
  const kr = await loadKeyring(join(dir, 'k'))
  const file = join(dir, 'p.maif')
  await writeContainer(file, ['one', 'two'], { signer: kr.signer, encryption: 'none', framer: { type: 'TEXT' } })
  const err = await collect(file, { keyProvider: kr }).then(() => null, (e: unknown) => e)
  t.equal((err as MaifError).code, 'MAIF_ERR_ENCRYPTION_REQUIRED')
  const got = (await collect(file, { keyProvider: kr, allowPlaintext: true })) as Buffer[]
  t.same(got.map(String), ['one', 'two'])
})

t.test('binary objects come back as their segments with names', async (t) => {
  const dir = t.testdir()
  await generateKeyring(join(dir, 'k'))
  const kr = await loadKeyring(join(dir, 'k'))
  const file = join(dir, 'b.maif')
  const blob = Buffer.alloc(10_000, 7)
  await writeContainer(file, [{ data: blob, name: 'blob.bin' }], { keyProvider: kr, signer: kr.signer, framer: { mode: 'binary', segmentBytes: 4096 } })
  const pieces = (await collect(file, { keyProvider: kr })) as BinaryPiece[]
  t.equal(pieces.length, 3)
  t.same(pieces.map((p) => p.last), [false, false, true])
  t.ok(pieces.every((p) => p.name === 'blob.bin'))
  t.same(Buffer.concat(pieces.map((p) => p.data)), blob)
})

t.test('random access and RFC 9162 proofs from the reader', async (t) => {
  const dir = t.testdir()
  await generateKeyring(join(dir, 'k'))
  const kr = await loadKeyring(join(dir, 'k'))
  const file = join(dir, 'r.maif')
  const first = await writeContainer(file, Array.from({ length: 30 }, (_, i) => ({ i })), { keyProvider: kr, signer: kr.signer, framer: { blockRecords: 10 } })
  await writeContainer(file, Array.from({ length: 20 }, (_, i) => ({ j: i })), { keyProvider: kr, signer: kr.signer, framer: { blockRecords: 10 } })
  const r = await ContainerReader.open(file, { keyProvider: kr, pinned: [kr.signer.publicKey] })
  t.teardown(() => r.close())
  const data = r.dataEntries('JSON')
  t.equal(data.length, 5)
  const b = await r.readBlock(data[3]!.seq)
  t.equal(b.data.toString().split('\n')[0], JSON.stringify({ j: 0 }), 'block 4 is the first of the second session')
  for (const e of r.entries) {
    t.ok(verifyInclusion(r.leaf(e.seq), e.seq, r.treeSize, r.inclusionProof(e.seq), r.checkpoint.root), `box #${e.seq} is in the signed tree`)
  }
  t.notOk(verifyInclusion(r.leaf(2), 3, r.treeSize, r.inclusionProof(2), r.checkpoint.root), 'a proof does not move to another position')
  t.ok(verifyConsistency(first.treeSize, r.treeSize, first.root, r.checkpoint.root, r.consistencyProof(first.treeSize)), 'the first session’s checkpoint is a prefix of the last one')
  await t.rejects(r.readBlock(9999), { code: 'MAIF_ERR_NOT_FOUND' })
  const other = await generateKeyring(join(dir, 'other'))
  const pub = await (await import('../src/core/format/keyring.js')).loadPublicKey(other.pubFile)
  await t.rejects(ContainerReader.open(file, { pinned: [pub] }), { code: 'MAIF_ERR_SIGNER_UNTRUSTED' })
})
