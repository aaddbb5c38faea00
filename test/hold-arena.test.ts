// The hold arena copies boxes a reader holds until their checkpoint, and hands the same memory out again
// after each release: copies are exact, never overlap while held, and reuse the slabs after a reset.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { HoldArena } from '../src/core/container/hold-arena.js'

t.test('copies are exact and do not overlap while held', async (t) => {
  const a = new HoldArena(1 << 16)
  const srcs = Array.from({ length: 40 }, (_, i) => randomBytes(1000 + i * 97))
  const copies = srcs.map((s) => a.copy(s))
  for (const [i, c] of copies.entries()) t.ok(c.equals(srcs[i]!), `copy ${i} is exact after all were made`)
  t.ok(a.retained >= srcs.reduce((n, s) => n + s.length, 0), 'the slabs hold every copy')
})

t.test('after a reset the same memory is handed out again', async (t) => {
  const a = new HoldArena(1 << 16)
  const first = a.copy(randomBytes(5000))
  const slabs = a.retained
  a.reset()
  const again = a.copy(randomBytes(5000))
  t.equal(again.buffer, first.buffer, 'the first slab is reused')
  t.equal(again.byteOffset, first.byteOffset)
  for (let i = 0; i < 10; i++) a.copy(randomBytes(5000))
  a.reset()
  for (let i = 0; i < 11; i++) a.copy(randomBytes(5000))
  t.equal(a.retained, Math.max(slabs, 1 << 16), 'the same amount held twice needs no new slab')
})

t.test('a box larger than a slab gets its own memory', async (t) => {
  const a = new HoldArena(1024)
  const big = randomBytes(4096)
  const c = a.copy(big)
  t.ok(c.equals(big))
  t.equal(a.retained, 0, 'no slab was made for it')
  big[0] = big[0]! ^ 1
  t.notOk(c.equals(big), 'it is a copy, not a view')
})
