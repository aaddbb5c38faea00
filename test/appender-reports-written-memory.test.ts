// What the appender has written is reported dead (reclaim.ts): the boxes' ciphertexts are fresh memory from Node's
// crypto, which V8 frees only when it collects their small owners, and a write path allocates few JS objects, so
// without a report they waited for V8's external-memory limit (a 1 GiB pack peaked about 20 MiB higher).
// Observable: forced young-generation collections while a container is written, where nothing else forces any.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { stat } from 'node:fs/promises'
import { writeContainer } from '../src/core/container/writer.js'
import { verifyContainer } from '../src/core/container/verify.js'
import { makeKeys, removeDir, scratchDir, writeOpts } from './helpers/container.js'
import { watchForcedCollections } from './helpers/gc.js'

const MiB = 1 << 20

t.test('writing 64 MiB of encrypted blocks forces young collections as the bytes go out', async (t) => {
  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const keys = await makeKeys(join(dir, 'keys'))
  const file = join(dir, 'c.maif')
  const piece = randomBytes(MiB)
  function* objects(): Generator<{ data: Buffer; name: string }> {
    for (let i = 0; i < 64; i++) yield { data: piece, name: `o${i}` }
  }
  const gc = watchForcedCollections()
  try {
    // Stored uncompressed, so nothing is decrypted or decompressed on the way: only the appender reports.
    await writeContainer(file, objects(), writeOpts(keys, { codec: 'none', framer: { mode: 'binary', segmentBytes: 4 * MiB } }))
    await gc.settle()
  } finally {
    gc.stop()
  }
  // One report per write, a collection once 2 MiB were reported: at least one per 32 MiB whatever the batching
  // (4 seen). Before, none: nothing on the write path asked for one.
  const forced = gc.young + gc.full
  t.ok(forced >= 2, `${forced} forced collections while 64 MiB were written`)
  const v = await verifyContainer(file, { pinned: [keys.pub], keyProvider: keys.keyring })
  t.equal(v.ok, true, JSON.stringify(v.errors))
  t.equal(v.blocks, 64)
})

t.test('a plaintext box handed back to the write path is not reported: its memory is reused, not dead', async (t) => {
  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const keys = await makeKeys(join(dir, 'keys'))
  const file = join(dir, 'c.maif')
  // Hex text compresses to about half: some 16 MiB of boxes written from 1 MiB blocks, each compressed into its own buffer.
  const noise = randomBytes(1 << 20).toString('hex')
  function* lines(): Generator<string> {
    for (let i = 0; i < 32 * 2600; i++) yield JSON.stringify({ i, msg: noise.substr((i * 397) % (noise.length - 400), 400) })
  }
  const gc = watchForcedCollections()
  try {
    await writeContainer(file, lines(), writeOpts(keys, { encryption: 'none', framer: {} }))
    await gc.settle()
  } finally {
    gc.stop()
  }
  // Reported, the released bodies would force one collection per 2 MiB; only the box headers and the small
  // index and checkpoint boxes are reported now, far below that.
  const v0 = await stat(file)
  t.ok(v0.size > 8 * MiB, 'enough was written to force several collections if it were reported')
  t.equal(gc.young + gc.full, 0, `${gc.young + gc.full} forced collections while 32 MiB of plaintext blocks (${(v0.size / MiB).toFixed(0)} MiB of boxes) were written`)
  const v = await verifyContainer(file, { pinned: [keys.pub] })
  t.equal(v.ok, true, JSON.stringify(v.errors))
})
