// droppedBytes runs a full collection every FULL_EVERY-th time (reclaim.ts). Its young collections move what is
// alive into the old generation (buffers in flight, tokens waiting for a checkpoint), and what dies there is freed
// only by a full collection, which V8 seldom starts for a streaming pipeline: a 1 GiB pack ran two, and its RSS
// crept up all the way. Observable: memory that died old comes back after FULL_EVERY reports, not before.
import t from 'tap'
import { FULL_EVERY, RECLAIM_EVERY, droppedBytes } from '../src/core/format/reclaim.js'
import { watchForcedCollections } from './helpers/gc.js'

const MiB = 1 << 20
const external = (): number => process.memoryUsage().arrayBuffers

t.test('buffers that die in the old generation are freed by the FULL_EVERY-th collection', async (t) => {
  const gc = watchForcedCollections()
  t.teardown(() => gc.stop())

  const base = external()
  let held: Buffer[] | null = Array.from({ length: 256 }, () => Buffer.allocUnsafeSlow(64 << 10)) // 16 MiB
  droppedBytes(RECLAIM_EVERY) // two young collections: the buffers survive both and move to the old generation
  droppedBytes(RECLAIM_EVERY)
  t.equal(held.length, 256)
  held = null // now they die old
  for (let i = 2; i < FULL_EVERY - 1; i++) droppedBytes(RECLAIM_EVERY)
  const beforeFull = external()
  t.ok(beforeFull - base >= 15 * MiB, `young collections alone leave them (${((beforeFull - base) / MiB).toFixed(1)} MiB still held)`)
  droppedBytes(RECLAIM_EVERY) // the FULL_EVERY-th
  // V8 gives an ArrayBuffer's memory back from its array buffer sweeper, which may finish after the collection
  // returns (under CI's load, 7 of the 16 MiB were still counted right after it). Waiting alone frees nothing
  // that died old (the young collections above left all of it), so the wait is bounded, not a retry.
  let after = external()
  for (let waited = 0; after - base >= 2 * MiB && waited < 2000; waited += 10) {
    await new Promise((r) => setTimeout(r, 10))
    after = external()
  }
  t.ok(after - base < 2 * MiB, `the full collection frees them (${((after - base) / MiB).toFixed(1)} MiB left)`)

  await gc.settle()
  t.equal(gc.full, 1, 'one forced full collection')
  t.equal(gc.young, FULL_EVERY - 1, 'and a young one for every other report')
})

t.test('reports below RECLAIM_EVERY add up; nothing runs before they reach it', async (t) => {
  const gc = watchForcedCollections()
  t.teardown(() => gc.stop())
  for (let i = 0; i < 7; i++) droppedBytes(RECLAIM_EVERY / 8)
  await gc.settle()
  t.equal(gc.young + gc.full, 0, 'seven eighths: no collection')
  droppedBytes(RECLAIM_EVERY / 8)
  await gc.settle()
  t.equal(gc.young + gc.full, 1, 'the eighth: one')
})
