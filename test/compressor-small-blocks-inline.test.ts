// With a worker pool, blocks under 16 KiB are compressed on the writing thread: a message to a worker and back
// costs about 50 µs, ten times zstd -1 on a one-record block. Larger blocks still go to the workers. Either way
// the container is the same: it verifies and reads back record for record.
import t from 'tap'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { writeContainer } from '../src/core/container/writer.js'
import { verifyContainer } from '../src/core/container/verify.js'
import { WorkerPool } from '../src/core/workers/worker-pool.js'
import { makeKeys, removeDir, scratchDir, writeOpts } from './helpers/container.js'

t.test('small blocks stay on the thread, large ones go to the pool', async (t) => {
  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const keys = await makeKeys(join(dir, 'keys'))
  const cases = [
    { name: 'one-record blocks', records: Array.from({ length: 200 }, (_, i) => ({ i, msg: `event ${i}` })), blockRecords: 1, pooled: false },
    { name: '64 KiB blocks', records: Array.from({ length: 8 }, (_, i) => ({ i, blob: randomBytes(24 << 10).toString('hex') })), blockRecords: 2, pooled: true },
  ]
  for (const c of cases) {
    const pool = new WorkerPool(2, { lazy: true })
    t.teardown(() => pool.close())
    const path = join(dir, `${c.blockRecords}.maif`)
    await writeContainer(path, c.records, { ...writeOpts(keys, { framer: { blockRecords: c.blockRecords } }), pool })
    t.equal(pool.started, c.pooled, `${c.name}: the pool was ${c.pooled ? '' : 'not '}used`)
    const lines: string[] = []
    const r = await verifyContainer(path, { keyProvider: keys.keyring, pinned: [keys.pub], onBlock: (b) => { lines.push(...b.data.toString().split('\n').filter(Boolean)) } })
    t.ok(r.ok, `${c.name}: verifies`)
    t.equal(r.blocks, c.records.length / c.blockRecords, `${c.name}: ${r.blocks} blocks`)
    t.strictSame(lines, c.records.map((x) => JSON.stringify(x)), `${c.name}: every record, in order`)
  }
})
