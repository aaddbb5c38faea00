// A verify given a worker pool checks a container of small boxes (one-record blocks) on the main thread: the
// heads the workers would be sent are whole boxes already, and batching them costs time and memory (1M
// one-record blocks: 39 s and 208 MB through the pool, 15 s and 116 MB without; the pool is used from a mean
// data box of 8 KiB and 4 data boxes). A lazy pool is never started.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { verifyContainer } from '../src/core/container/verify.js'
import { writeContainer } from '../src/core/container/writer.js'
import { readKeyProvider } from '../src/core/format/kms/read-keys.js'
import { WorkerPool } from '../src/core/workers/worker-pool.js'
import { makeKeys, removeDir, scratchDir, writeOpts } from './helpers/container.js'

t.test('small boxes stay on the main thread; large ones go to the workers', async (t) => {
  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const keys = await makeKeys(join(dir, 'keys'))
  const small = join(dir, 'small.maif')
  await writeContainer(small, Array.from({ length: 300 }, (_, i) => ({ i, msg: `event ${i}` })), writeOpts(keys, { framer: { blockRecords: 1 } }))
  const opts = { pinned: [keys.pub], keyProvider: readKeyProvider(keys.keyring) }

  const lazy = new WorkerPool(2, { lazy: true })
  t.teardown(() => lazy.close())
  const a = await verifyContainer(small, { ...opts, pool: lazy })
  t.ok(a.ok)
  t.equal(a.blocks, 300)
  t.equal(lazy.started, false, 'the pool was never needed')
  t.strictSame(a, await verifyContainer(small, opts), 'the same report as without a pool')

  // Two large boxes: nothing to share between workers, so they are not started either.
  const two = join(dir, 'two.maif')
  await writeContainer(two, Array.from({ length: 2 }, (_, i) => ({ i, blob: randomBytes(100_000).toString('base64') })), writeOpts(keys, { framer: { blockRecords: 1 } }))
  const few = new WorkerPool(2, { lazy: true })
  t.teardown(() => few.close())
  t.ok((await verifyContainer(two, { ...opts, pool: few })).ok)
  t.equal(few.started, false, 'two boxes stay on the main thread')

  // Blocks of one record of 133 KB of base64 (about 100 KB compressed): large boxes, opened by the workers.
  const large = join(dir, 'large.maif')
  await writeContainer(large, Array.from({ length: 8 }, (_, i) => ({ i, blob: randomBytes(100_000).toString('base64') })), writeOpts(keys, { framer: { blockRecords: 1 } }))
  const b = await verifyContainer(large, { ...opts, pool: lazy })
  t.ok(b.ok)
  t.equal(lazy.started, true, 'large boxes start the pool')
  t.strictSame(b, await verifyContainer(large, opts))
})
