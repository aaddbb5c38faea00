// Decompression is bounded by the block's declared plainLen ("so a bomb cannot expand beyond what the block
// says", src/core/format/codec.ts). A hostile plaintext block whose zstd frame expands far beyond plainLen must be
// refused without the verifier materialising the expansion. gzip and brotli are the control.
import t from 'tap'
import { join } from 'node:path'
import { readFile } from 'node:fs/promises'
import { gzipSync } from 'node:zlib'
import { compress as zstdCompress } from 'zstd-napi'
import { writeContainer } from '../src/core/container/writer.js'
import { verifyContainer } from '../src/core/container/verify.js'
import { decompress } from '../src/core/format/codec.js'
import { CODECS, encodeHeader, HEADER_LEN } from '../src/core/format/format.js'
import { jsonRecords, makeKeys, parseBoxes, removeDir, scratchDir, verifyBytes, writeOpts } from './helpers/container.js'
import { rebuild } from './helpers/forge.js'

const BOMB = 128 << 20 // what the frame expands to
const LIMIT = 32 << 20 // no single allocation while reading a block may come near the bomb

/** Runs fn and returns the largest Buffer.allocUnsafe request made meanwhile. */
async function largestAlloc<T>(fn: () => Promise<T> | T): Promise<{ value: T | undefined; error: unknown; max: number }> {
  const orig = Buffer.allocUnsafe
  let max = 0
  Buffer.allocUnsafe = ((size: number) => {
    if (size > max) max = size
    return orig(size)
  }) as typeof Buffer.allocUnsafe
  try {
    return { value: await fn(), error: undefined, max }
  } catch (error) {
    return { value: undefined, error, max }
  } finally {
    Buffer.allocUnsafe = orig
  }
}

t.test('decompression bombs', async (t) => {
  const zeros = Buffer.alloc(BOMB)
  const zbomb = zstdCompress(zeros)
  const gbomb = gzipSync(zeros, { level: 9 })
  t.ok(zbomb.length < 1 << 20 && gbomb.length < 1 << 20, `small frames (${zbomb.length} / ${gbomb.length} bytes)`)

  await t.test('codec.decompress with a small plainLen', async (t) => {
    const g = await largestAlloc(() => decompress(CODECS.gzip, gbomb, 100))
    t.match(g.error, { code: 'MAIF_ERR_CODEC' }, 'gzip: refused')
    t.ok(g.max < LIMIT, `gzip: bounded by plainLen (largest allocation ${g.max})`)
    const z = await largestAlloc(() => decompress(CODECS.zstd, zbomb, 100))
    t.match(z.error, { code: 'MAIF_ERR_CODEC' }, 'zstd: refused')
    t.ok(z.max < LIMIT, `zstd: bounded by plainLen (largest allocation ${z.max} bytes for a block that declares 100)`)
  })

  await t.test('a zstd bomb planted in a plaintext container (no key needed to plant it)', async (t) => {
    const dir = await scratchDir()
    t.teardown(() => removeDir(dir))
    const keys = await makeKeys(join(dir, 'keys'))
    const path = join(dir, 'plain.maif')
    await writeContainer(path, jsonRecords(4), writeOpts(keys, { encryption: 'none', codec: 'zstd' }))
    const boxes = parseBoxes(await readFile(path))
    const i = boxes.findIndex((b) => b.header.type === 'JSON')
    const box = boxes[i]!
    // Same prefix (plainLen unchanged) and pub, new body; header keeps seq and prev, so the chain only breaks
    // at the next box — after the verifier has already decompressed this one.
    const p = box.bytes.subarray(HEADER_LEN)
    const pubLen = p.readUInt32BE(4)
    const prefix = Buffer.from(p.subarray(0, 32))
    prefix.writeBigUInt64BE(BigInt(zbomb.length), 24)
    const payload = Buffer.concat([prefix, p.subarray(32, 32 + pubLen), zbomb])
    const forged = Buffer.concat([
      ...boxes.slice(0, i).map((b) => b.bytes),
      encodeHeader({ ...box.header, size: HEADER_LEN + payload.length }), payload,
      ...boxes.slice(i + 1).map((b) => b.bytes),
    ])
    const file = join(dir, 'bomb.maif')
    const r = await largestAlloc(() => verifyBytes(file, forged, { pinned: [keys.pub], onBlock: () => {} }))
    t.equal(r.error, undefined, 'verify does not throw')
    t.equal(r.value?.ok, false, 'the container is rejected')
    // A block is opened only once a verified checkpoint covers it: this one never is (the chain breaks at the
    // next box), so the bomb is not even decompressed.
    t.same({ code: r.value?.errors[0]?.code, offset: r.value?.errors[0]?.offset }, { code: 'MAIF_ERR_CHAIN', offset: boxes[i + 1]!.offset + (payload.length + HEADER_LEN - box.header.size) }, 'the chain breaks at the next box, before any checkpoint covers the bomb')
    t.ok(r.max < LIMIT, `the verifier never allocates the expansion (largest allocation ${r.max} bytes)`)
    // With the chain repaired and the checkpoints re-signed by the pinned key, the bomb is covered and opened:
    // then decompression itself must refuse it, in bounded memory.
    const resigned = await rebuild(parseBoxes(forged).map((b) => b.bytes), { signer: keys.keyring.signer })
    const r2 = await largestAlloc(() => verifyBytes(file, resigned, { pinned: [keys.pub], onBlock: () => {} }))
    t.equal(r2.error, undefined, 'verify does not throw')
    t.same({ code: r2.value?.errors[0]?.code, offset: r2.value?.errors[0]?.offset }, { code: 'MAIF_ERR_CODEC', offset: box.offset }, 're-signed: a codec error at the planted block')
    t.ok(r2.max < LIMIT, `the verifier never allocates the expansion (largest allocation ${r2.max} bytes)`)
    t.ok((await verifyContainer(path, { pinned: [keys.pub], onBlock: () => {} })).ok, 'the untouched container verifies')
  })
})
