// Hashing on worker threads (what `maif verify --pub` uses for large containers) reaches the same verdict as
// hashing on the main thread: the same root and counts for a good container, and the same first error for a
// damaged one, at every box of it.
import t from 'tap'
import { join } from 'node:path'
import { verifyContainer } from '../src/core/container/verify.js'
import { WorkerPool } from '../src/core/workers/worker-pool.js'
import { buildTwoSessions, flipBit, makeKeys, parseBoxes, removeDir, scratchDir, verifyBytes } from './helpers/container.js'

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
