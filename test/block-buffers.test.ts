// The write path's recycled block memory: a buffer given back is handed out again (no fresh memory per
// block), joins are exact, and outsized buffers are not kept.
import t from 'tap'
import { BlockBuffers } from '../src/core/container/write/block-buffers.js'

t.test('joins exactly, and reuses what is given back', async (t) => {
  const b = new BlockBuffers(1024)
  const a = b.join([Buffer.from('ab'.repeat(40)), Buffer.from('cde'), new Uint8Array([0x0a])])
  t.equal(a.toString(), 'ab'.repeat(40) + 'cde\n')
  t.equal(a.buffer.byteLength, 1024 + 64 * 1024, 'small joins get the minimum capacity and the slack')
  b.give(a.buffer as ArrayBuffer)
  const e = b.take(7)
  t.equal(e.length, 7)
  t.equal(e.buffer, a.buffer, 'the given-back buffer is reused')
  const other = b.join([Buffer.alloc(10, 1)])
  t.not(other.buffer, e.buffer, 'a buffer in use is never handed out twice')
})

t.test('a block larger than any kept buffer gets its own, and outsized ones are dropped', async (t) => {
  const b = new BlockBuffers(1024)
  const small = b.join([Buffer.alloc(100)])
  b.give(small.buffer as ArrayBuffer)
  const big = b.join([Buffer.alloc(80_000, 7)])
  t.equal(big.length, 80_000)
  t.not(big.buffer, small.buffer, 'a kept buffer that is too small is not used')
  t.ok(big.every((x) => x === 7))
  b.give(big.buffer as ArrayBuffer) // 80,000 > 4 × 1024 + 64 KiB: not kept
  const again = b.join([Buffer.alloc(70_000)])
  t.not(again.buffer, big.buffer, 'the outsized buffer was not kept')
  const next = b.join([Buffer.alloc(500)])
  t.equal(next.buffer, small.buffer, 'the kept one is still there')
})

t.test('a block far below the minimum gets a buffer of its own size when none is kept, and it is not kept', async (t) => {
  // One-record blocks: a block-sized buffer each (none kept yet: the framer runs ahead of the compressor) made a
  // pack of 25k such blocks allocate 26 GB of address space, and V8 collect every few blocks.
  const b = new BlockBuffers(1024)
  const tiny = b.join([Buffer.from('abcde'), new Uint8Array([0x0a])])
  t.equal(tiny.toString(), 'abcde\n')
  t.equal(tiny.buffer.byteLength, 6, 'exactly its own size')
  b.give(tiny.buffer as ArrayBuffer)
  const next = b.take(6)
  t.not(next.buffer, tiny.buffer, 'a tiny buffer is not kept for reuse')
  const kept = b.join([Buffer.alloc(100)])
  b.give(kept.buffer as ArrayBuffer)
  t.equal(b.take(6).buffer, kept.buffer, 'a kept block-sized buffer still serves a tiny block')
})
