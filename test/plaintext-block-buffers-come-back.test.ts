// In a plaintext session the compressed body is the box's payload, so its block buffer cannot go back when the
// block is sealed, as an encrypted one's does. It goes back once the box is written: a plaintext pack must not
// take fresh memory for every block (a 1 GiB pack took 18 % longer than an encrypted one, most of it in page
// faults and the collections that freed those buffers).
import t from 'tap'
import { join } from 'node:path'
import { BlockBuffers } from '../src/core/container/write/block-buffers.js'
import { writeContainer } from '../src/core/container/writer.js'
import { ContainerReader } from '../src/core/container/reader.js'
import { WorkerPool } from '../src/core/workers/worker-pool.js'
import { makeKeys, removeDir, scratchDir, writeOpts } from './helpers/container.js'

const BLOCKS = 40

/** String records of about 440 bytes: about 150 to a 64 KiB block (the framer's blockBytes below). */
function* lines(): Generator<string> {
  for (let i = 0; i < BLOCKS * 160; i++) yield JSON.stringify({ i, msg: `step ${i} `.repeat(40) })
}

const pool = new WorkerPool(1)
t.teardown(() => pool.close())

for (const encryption of ['none', 'aes'] as const) {
  for (const [where, p] of [['on a worker', pool], ['inline', undefined]] as const) {
    t.test(`${encryption === 'none' ? 'plaintext' : 'encrypted'}, compressed ${where}: every block buffer comes back once its box is written`, async (t) => {
      const dir = await scratchDir('plain-recycle')
      t.teardown(() => removeDir(dir))
      const keys = await makeKeys(join(dir, 'keys'))
      const given: ArrayBuffer[] = []
      const give = BlockBuffers.prototype.give
      BlockBuffers.prototype.give = function (this: BlockBuffers, ab: ArrayBuffer) {
        given.push(ab)
        give.call(this, ab)
      }
      t.teardown(() => { BlockBuffers.prototype.give = give })
      const path = join(dir, 'c.maif')
      const base = writeOpts(keys, { framer: { blockBytes: 64 << 10 }, ...(p ? { pool: p } : {}) })
      await writeContainer(path, lines(), encryption === 'none' ? { ...base, encryption: 'none' } : base)
      const r = await ContainerReader.open(path, { keyProvider: keys.keyring, pinned: [keys.pub] })
      t.teardown(() => r.close())
      const blocks = r.dataEntries('JSON').length
      t.ok(blocks >= BLOCKS, `${blocks} blocks written`)
      t.ok(given.length >= blocks, `every block's buffer came back to the write path (${given.length} given back for ${blocks} blocks)`)
      // What was written is what was framed: a buffer went back only once its box was written.
      const got: string[] = []
      for (const e of r.dataEntries('JSON')) got.push(...(await r.readBlock(e.seq)).data.toString().split('\n').slice(0, -1))
      const want = [...lines()]
      t.equal(got.length, want.length, 'every record is there')
      t.ok(got.every((l, i) => l === want[i]), 'each record reads back unchanged')
    })
  }
}
