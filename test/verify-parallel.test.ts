// Hashing on worker threads (what `maif verify --pub` uses for large containers) reaches the same verdict as
// hashing on the main thread: the same root and counts for a good container, and the same first error for a
// damaged one, at every box of it.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeContainer } from '../src/core/container/writer.js'
import { verifyContainer } from '../src/core/container/verify.js'
import { WorkerPool } from '../src/core/workers/worker-pool.js'
import { buildTwoSessions, flipBit, makeKeys, parseBoxes, removeDir, scratchDir, verifyBytes, writeOpts } from './helpers/container.js'

t.test('a pool and the main thread agree on good and damaged containers', async (t) => {
  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const pool = new WorkerPool(2)
  t.teardown(() => pool.close())
  const keys = await makeKeys(join(dir, 'keys'))
  const c = await buildTwoSessions(join(dir, 'c.maif'), keys)
  const pinned = [keys.pub]

  const inline = await verifyContainer(c.path, { pinned })
  const parallel = await verifyContainer(c.path, { pinned, pool, poolMinBoxBytes: 0 })
  t.ok(inline.ok, 'the container verifies')
  t.strictSame(parallel, inline, 'the same report with a pool')

  // One flipped byte inside each box's payload: both paths report the same errors.
  const boxes = parseBoxes(c.bytes)
  t.ok(boxes.length > 8, 'the fixture has boxes to damage')
  for (const [i, box] of boxes.entries()) {
    const at = box.offset + Math.floor(box.header.size / 2)
    const damaged = flipBit(c.bytes, at)
    const file = join(dir, `flip-${i}.maif`)
    const a = await verifyBytes(file, damaged, { pinned })
    const b = await verifyContainer(file, { pinned, pool, poolMinBoxBytes: 0 })
    t.notOk(a.ok, `a flip in box ${i} (${box.header.type}) is detected`)
    t.strictSame(b.errors, a.errors, `box ${i}: the pool reports the same errors`)
  }
})

// After a box larger than the head window (64 KiB) the next head is read on its own, not as a full window: the
// scan must still find every box, small or large, data or structural, and damage anywhere in a box (its head, the
// middle of its body, its last byte) is reported as the main thread reports it.
t.test('large boxes followed by small ones: a pool and the main thread agree', async (t) => {
  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const pool = new WorkerPool(2)
  t.teardown(() => pool.close())
  const keys = await makeKeys(join(dir, 'keys'))
  const path = join(dir, 'mixed.maif')
  // Incompressible records stored as they are: a box is the size of its record. Sizes cycle large, small, small.
  const sizes = [200_000, 300, 5_000, 70_000, 100, 66_000, 10, 150_000]
  const records = sizes.map((n, i) => ({ i, pad: randomBytes(Math.ceil(n / 2)).toString('hex').slice(0, n) }))
  await writeContainer(path, records, writeOpts(keys, { codec: 'none', framer: { blockRecords: 1 }, checkpointEvery: { ms: 0, blocks: 3 } }))
  const bytes = await readFile(path)
  const boxes = parseBoxes(bytes)
  t.ok(boxes.filter((b) => b.header.size > 64 << 10).length >= 3, 'precondition: several boxes larger than the head window')
  const pinned = [keys.pub]
  const inline = await verifyContainer(path, { pinned })
  t.ok(inline.ok, 'the container verifies')
  t.equal(inline.records, records.length)
  t.strictSame(await verifyContainer(path, { pinned, pool, poolMinBoxBytes: 0 }), inline, 'the same report with a pool')
  for (const [i, box] of boxes.entries()) {
    for (const at of [box.offset + 40, box.offset + Math.floor(box.header.size / 2), box.offset + box.header.size - 1]) {
      const file = join(dir, `flip-${i}-${at}.maif`)
      const a = await verifyBytes(file, flipBit(bytes, at), { pinned })
      const b = await verifyContainer(file, { pinned, pool, poolMinBoxBytes: 0 })
      t.notOk(a.ok, `a flip at ${at} in box ${i} (${box.header.type}, ${box.header.size} bytes) is detected`)
      t.strictSame(b.errors, a.errors, `box ${i}, byte ${at - box.offset}: the pool reports the same errors`)
    }
  }
})
