// Round trip through the public write and verify APIs: what writeContainer stores, verifyContainer's onBlock
// gives back, byte for byte, for every record mode, codec, encryption setting and signature algorithm.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { readFile, stat } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { writeContainer } from '../src/core/container/writer.js'
import { verifyContainer, type OpenedBlock, type VerifyOptions, type VerifyResult } from '../src/core/container/verify.js'
import { CODECS, FLAG_CONTINUES, HEADER_LEN, type Codec } from '../src/core/format/format.js'
import type { KeyProvider } from '../src/core/format/keyring.js'
import { jsonRecords, makeKeys, parseBoxes, removeDir, scratchDir, writeOpts, type TestKeys } from './helpers/container.js'

async function readBack(path: string, opts: VerifyOptions): Promise<{ r: VerifyResult; blocks: OpenedBlock[] }> {
  const blocks: OpenedBlock[] = []
  const r = await verifyContainer(path, { ...opts, onBlock: (b) => { blocks.push({ ...b, data: Buffer.from(b.data) }) } })
  return { r, blocks }
}
const lines = (blocks: OpenedBlock[]): string[] =>
  blocks.flatMap((b) => {
    const s = b.data.toString('utf8')
    if (!s.endsWith('\n')) throw new Error(`block #${b.seq} does not end with a newline`)
    return s.slice(0, -1).split('\n')
  })

t.test('round trips through writeContainer and verifyContainer', async (t) => {
  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const A = await makeKeys(join(dir, 'A'))
  const keyed = (k: TestKeys): VerifyOptions => ({ pinned: [k.pub], keyProvider: k.keyring })
  let n = 0
  const fresh = (): string => join(dir, `c${n++}.maif`)

  await t.test('JSON records', async (t) => {
    const recs = jsonRecords(23).map((r, i) => ({ ...r, nested: { a: [i, 'x', null, true] }, text: 'naïve ✓ "quoted" \\ \t' }))
    const path = fresh()
    const commit = await writeContainer(path, recs, writeOpts(A, { framer: { blockRecords: 5, agent: 'agent-7', priv: { tenant: 't1' } } }))
    const { r, blocks } = await readBack(path, keyed(A))
    t.ok(r.ok, 'verifies')
    t.same(r.errors, [])
    t.equal(blocks.length, 5, '23 records in blocks of 5 → 5 blocks')
    t.same(lines(blocks).map((l) => JSON.parse(l) as unknown), recs, 'records come back identical and in order')
    t.ok(blocks.every((b) => b.type === 'JSON' && b.flags === 0), 'JSON boxes, no flags')
    t.same(blocks.map((b) => b.pub.records), [5, 5, 5, 5, 3], 'public record counts')
    t.ok(blocks.every((b) => b.pub.agent === 'agent-7'), 'public metadata')
    t.ok(blocks.every((b) => (b.priv as { tenant?: string }).tenant === 't1'), 'private metadata')
    t.equal(r.records, 23)
    t.equal(commit.records, 23, 'the commit counts the records')
    t.equal(commit.treeSize, r.treeSize, 'the commit tree size is the verified one')
    t.equal(commit.root.toString('base64'), r.root, 'the commit root is the verified root')
  })

  await t.test('text lines', async (t) => {
    const recs = ['plain ascii', '', 'ünïcödé ✓ 🚀', 'tab\tand\rcarriage return', ' '.repeat(3000)]
    const path = fresh()
    await writeContainer(path, recs, writeOpts(A, { framer: { mode: 'lines', type: 'TEXT', blockRecords: 2 } }))
    const { r, blocks } = await readBack(path, keyed(A))
    t.ok(r.ok, 'verifies')
    t.ok(blocks.length === 3 && blocks.every((b) => b.type === 'TEXT'), 'three TEXT blocks')
    t.same(lines(blocks), recs, 'strings come back identical')
  })

  await t.test('binary object larger than a segment', async (t) => {
    const blob = randomBytes(10_000 + 17)
    const small = randomBytes(100)
    const path = fresh()
    await writeContainer(path, [{ data: blob, name: 'blob.bin', meta: { owner: 'me' } }, small], writeOpts(A, { framer: { mode: 'binary', segmentBytes: 1024 } }))
    const { r, blocks } = await readBack(path, keyed(A))
    t.ok(r.ok, 'verifies')
    const nSeg = Math.ceil(blob.length / 1024)
    t.equal(nSeg, 10)
    t.equal(blocks.length, nSeg + 1, '10 segments of the blob, 1 block for the small buffer')
    t.ok(blocks.every((b) => b.type === 'BINA'), 'BINA boxes')
    const segs = blocks.slice(0, nSeg)
    t.ok(segs.slice(0, -1).every((b) => b.data.length === 1024), 'full segments are segmentBytes long')
    t.same(blocks.map((b) => b.flags & FLAG_CONTINUES), [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0], 'CONTINUES on all but the last segment')
    t.equal(segs[nSeg - 1]!.data.length, blob.length - 9 * 1024, 'the last segment holds the rest')
    t.ok(Buffer.concat(segs.map((b) => b.data)).equals(blob), 'the segments reassemble to the original bytes')
    t.equal(segs[0]!.pub.name, 'blob.bin', 'the first segment carries the name')
    t.equal((segs[0]!.priv as { owner?: string }).owner, 'me', 'and the private metadata')
    t.ok(blocks[nSeg]!.data.equals(small), 'a plain Buffer record round trips')
  })

  await t.test('every codec', async (t) => {
    const recs = jsonRecords(40).map((r) => ({ ...r, pad: 'compressible '.repeat(20) }))
    for (const codec of Object.keys(CODECS) as Codec[]) {
      const path = fresh()
      await writeContainer(path, recs, writeOpts(A, { codec, framer: { blockRecords: 16 } }))
      const data = parseBoxes(await readFile(path)).filter((b) => b.header.type === 'JSON')
      t.equal(data.length, 3, `${codec}: 3 data boxes`)
      t.ok(data.every((b) => b.bytes[HEADER_LEN] === CODECS[codec]), `${codec}: the codec id is recorded in every block`)
      if (codec !== 'none') t.ok(data.every((b) => b.bytes.readBigUInt64BE(HEADER_LEN + 24) < b.bytes.readBigUInt64BE(HEADER_LEN + 16)), `${codec}: bodies are smaller than the plaintext`)
      const { r, blocks } = await readBack(path, keyed(A))
      t.ok(r.ok, `${codec}: verifies`)
      t.same(lines(blocks).map((l) => JSON.parse(l) as unknown), recs, `${codec}: records round trip`)
    }
  })

  await t.test("encryption 'none'", async (t) => {
    const recs = jsonRecords(8)
    const path = fresh()
    await writeContainer(path, recs, { signer: A.keyring.signer, encryption: 'none', framer: { blockRecords: 5 }, checkpointEvery: { ms: 0 } })
    const boxes = parseBoxes(await readFile(path))
    const sess = boxes.find((b) => b.header.type === 'sess')!
    t.match(sess.bytes.toString('utf8'), /"encryption":"none"/, 'the session records that it is plaintext')
    t.notMatch(sess.bytes.toString('utf8'), /wrappedKey/, 'and carries no key')
    t.ok(boxes.filter((b) => b.header.type === 'JSON').every((b) => b.bytes[HEADER_LEN + 1] === 0), 'data boxes have enc = 0')
    const { r, blocks } = await readBack(path, { pinned: [A.pub] })
    t.ok(r.ok, 'verifies without a key')
    t.ok(r.warnings.some((w) => /plaintext/.test(w)), 'with a plaintext warning')
    t.same(lines(blocks).map((l) => JSON.parse(l) as unknown), recs, 'records come back without a key')
    const withKey = await verifyContainer(path, keyed(A))
    t.ok(withKey.ok, 'a key provider does not disturb a plaintext session')
    t.ok(withKey.warnings.some((w) => /plaintext/.test(w)))
  })

  await t.test('several commits in one session', async (t) => {
    const path = fresh()
    const recs = jsonRecords(30)
    await writeContainer(path, recs, writeOpts(A, { checkpointEvery: { blocks: 2, ms: 0 } }))
    const { r, blocks } = await readBack(path, keyed(A))
    t.same(r.errors, [], 'verifies')
    t.ok(r.ok)
    t.ok(r.checkpoints >= 3, `one checkpoint per 2 blocks (${r.checkpoints})`)
    t.equal(r.sessions, 1)
    t.same(lines(blocks).map((l) => JSON.parse(l) as unknown), recs)
  })

  await t.test('appending never changes earlier bytes', async (t) => {
    const path = fresh()
    await writeContainer(path, jsonRecords(20), writeOpts(A))
    const before = await readFile(path)
    const first = await verifyContainer(path, keyed(A))
    await writeContainer(path, jsonRecords(7, 20), writeOpts(A))
    const after = await readFile(path)
    t.ok(after.length > before.length, 'the file grew')
    t.ok(after.subarray(0, before.length).equals(before), 'the old bytes are a prefix of the new file')
    const { r, blocks } = await readBack(path, { ...keyed(A), witness: { treeSize: first.treeSize, root: Buffer.from(first.root!, 'base64') } })
    t.ok(r.ok, 'the appended file verifies and extends the first commit')
    t.equal(r.sessions, 2)
    t.same(lines(blocks).map((l) => JSON.parse(l) as unknown), jsonRecords(27), 'all records in order')
  })

  await t.test('a key provider that cannot generate a key writes nothing', async (t) => {
    const failing: KeyProvider = {
      name: 'failing',
      generateDataKey: async () => { throw new Error('KMS is down') },
      decryptDataKey: async () => { throw new Error('KMS is down') },
    }
    const path = fresh()
    await writeContainer(path, jsonRecords(5), writeOpts(A))
    const before = await readFile(path)
    await t.rejects(writeContainer(path, jsonRecords(5), { ...writeOpts(A), keyProvider: failing }), { name: 'MaifError', code: 'MAIF_ERR_KEY_UNAVAILABLE' })
    t.ok((await readFile(path)).equals(before), 'an existing container is unchanged')
    t.ok((await verifyContainer(path, keyed(A))).ok, 'and still verifies')
    const newPath = fresh()
    await t.rejects(writeContainer(newPath, jsonRecords(5), { ...writeOpts(A), keyProvider: failing }), { code: 'MAIF_ERR_KEY_UNAVAILABLE' })
    t.ok(!existsSync(newPath) || (await stat(newPath)).size === 0, 'a new container gets no bytes')
  })

  await t.test('verifying with the wrong keyring', async (t) => {
    const B = await makeKeys(join(dir, 'B'))
    const path = fresh()
    await writeContainer(path, jsonRecords(5), writeOpts(A))
    const { r, blocks } = await readBack(path, { pinned: [A.pub], keyProvider: B.keyring })
    t.notOk(r.ok, 'fails')
    t.equal(r.errors[0]?.code, 'MAIF_ERR_KEY_UNAVAILABLE')
    t.equal(blocks.length, 0, 'no plaintext is released')
    const sessOffset = parseBoxes(await readFile(path)).find((b) => b.header.type === 'sess')!.offset
    t.equal(r.errors[0]?.offset, sessOffset, 'the error names the session box whose key could not be unwrapped')
  })

  for (const alg of ['ed25519', 'rsa-pss-3072'] as const) {
    await t.test(`${alg} keyring`, async (t) => {
      const K = await makeKeys(join(dir, alg), alg)
      t.equal(K.keyring.signer.alg, alg)
      const path = fresh()
      await writeContainer(path, jsonRecords(12), writeOpts(K))
      await writeContainer(path, jsonRecords(3, 12), writeOpts(K))
      const { r, blocks } = await readBack(path, keyed(K))
      t.ok(r.ok, 'verifies with its pinned key')
      t.same(r.signers, [{ keyId: K.keyring.signer.keyId.toString('hex'), alg, pinned: true }])
      t.equal(r.checkpoints, 2)
      t.same(lines(blocks).map((l) => JSON.parse(l) as unknown), jsonRecords(15))
      const other = await verifyContainer(path, { pinned: [A.pub] })
      t.equal(other.errors[0]?.code, 'MAIF_ERR_SIGNER_UNTRUSTED', 'and not with another pinned key')
    })
  }

  await t.test('sessions signed with different algorithms', async (t) => {
    const E = await makeKeys(join(dir, 'mixed-ed'), 'ed25519')
    const path = fresh()
    await writeContainer(path, jsonRecords(6), writeOpts(A))
    // Same master key (A's keyring) for the data, another signer for session 2.
    // A second signer is refused unless the writer says so explicitly.
    await t.rejects(writeContainer(path, jsonRecords(6, 6), { ...writeOpts(A), signer: E.keyring.signer }), { code: 'MAIF_ERR_SIGNER_MISMATCH' })
    await writeContainer(path, jsonRecords(6, 6), { ...writeOpts(A), signer: E.keyring.signer, allowNewSigner: true })
    const r = await verifyContainer(path, { pinned: [A.pub, E.pub], keyProvider: A.keyring })
    t.ok(r.ok, 'verifies with both keys pinned')
    t.same(r.signers.map((s) => s.alg), ['ecdsa-p256', 'ed25519'])
    const onlyA = await verifyContainer(path, { pinned: [A.pub] })
    t.equal(onlyA.errors[0]?.code, 'MAIF_ERR_SIGNER_UNTRUSTED', 'pinning only A rejects session 2')
    t.equal(onlyA.checkpoints, 1, 'after accepting session 1')
  })
})

