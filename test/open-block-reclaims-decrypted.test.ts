// Opening block after block does not let the decrypted slices pile up. Node's crypto gives each decrypted slice
// memory of its own outside the JS heap, and V8 left alone frees it only after some 64 MiB of such memory per
// thread (a reader allocates too few JS objects per block for any other collection to come): that is what made
// `verify --keyring` and `cat` peak 50–70 MB higher on large containers. Here 80 MiB of ciphertext is opened, one
// 1 MiB block at a time, and the memory held by ArrayBuffers must stay far below that limit throughout.
import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeContainer } from '../src/core/container/writer.js'
import { readKeyProvider } from '../src/core/format/kms/read-keys.js'
import { decodeFileHeader, decodeSession, HEADER_LEN, isStructural } from '../src/core/format/format.js'
import { checkBlock, openBlockStream, parseDataBox, unwrapSessionKey } from '../src/core/format/open-block.js'
import { RECLAIM_EVERY } from '../src/core/format/reclaim.js'
import { makeKeys, parseBoxes, removeDir, scratchDir, writeOpts } from './helpers/container.js'

const MiB = 1 << 20

/** A container of one incompressible object of `size` bytes stored uncompressed in one box, opened to that box. */
async function oneBox(t: Test, size: number) {
  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const keys = await makeKeys(join(dir, 'keys'))
  const path = join(dir, 'c.maif')
  await writeContainer(path, [{ data: randomBytes(size), name: 'blob' }], writeOpts(keys, { codec: 'none', framer: { mode: 'binary', segmentBytes: size + 4 * MiB } }))
  const boxes = parseBoxes(await readFile(path))
  const { containerId } = decodeFileHeader(boxes[0]!.bytes.subarray(HEADER_LEN), 0)
  const sessBox = boxes.find((b) => b.header.type === 'sess')!
  const { sessionId, info } = decodeSession(sessBox.bytes.subarray(HEADER_LEN), sessBox.offset)
  const key = await unwrapSessionKey(readKeyProvider(keys.keyring), containerId, sessionId, info)
  const data = boxes.find((b) => !isStructural(b.header.type))!
  const d = parseDataBox(data.offset, data.bytes, data.header.size)
  t.ok(d.body.length > size, `precondition: one box whose ciphertext is ${d.body.length} bytes`)
  return { key, containerId, sessionId, data, d }
}

t.test('80 MiB of blocks opened one by one keep only a few MiB of dead decrypted buffers', async (t) => {
  // One incompressible 1 MiB object, stored uncompressed: one box whose ciphertext is 1 MiB.
  const { key, containerId, sessionId, data, d } = await oneBox(t, MiB)

  const base = process.memoryUsage().arrayBuffers
  let peak = 0
  const rounds = 80
  for (let i = 0; i < rounds; i++) {
    checkBlock(key, containerId, sessionId, data.header, data.bytes, d, data.offset)
    peak = Math.max(peak, process.memoryUsage().arrayBuffers - base)
  }
  // Left to V8, this climbs to about 64 MiB before the first collection. Reclaimed every RECLAIM_EVERY bytes, what
  // is dead at any time is at most that much plus one block (and the decoder's scratch of one block).
  const bound = RECLAIM_EVERY + 8 * MiB
  t.ok(peak < bound, `ArrayBuffer memory grew by at most ${(peak / MiB).toFixed(1)} MiB over ${rounds} MiB of decrypted blocks (bound ${bound / MiB} MiB)`)
})

t.test('one large block does not pile up its decrypted slices either', async (t) => {
  // One incompressible 48 MiB object in one box, stored uncompressed: 48 slices of ciphertext.
  const size = 48 * MiB
  const { key, containerId, sessionId, data, d } = await oneBox(t, size)

  const base = process.memoryUsage().arrayBuffers
  let peak = 0
  let seen = 0
  // The sink sees each chunk of plaintext as it comes: the memory is sampled in the middle of the block.
  openBlockStream(key, containerId, sessionId, data.header, data.bytes, d, data.offset, (chunk) => {
    seen += chunk.length
    peak = Math.max(peak, process.memoryUsage().arrayBuffers - base)
  })
  t.ok(seen > size, 'the whole block went through the sink')
  // Reported once per block, the slices stayed until the block ended: about its size (V8 starts on its own only
  // near 64 MiB). Reported one by one, at most RECLAIM_EVERY of them is dead at any time.
  const bound = RECLAIM_EVERY + 8 * MiB
  t.ok(peak < bound, `ArrayBuffer memory grew by at most ${(peak / MiB).toFixed(1)} MiB while ${size / MiB} MiB were decrypted (bound ${bound / MiB} MiB)`)
})
