// cat's output gathers small blocks into writes of up to 64 KiB and writes large ones as they are, in order.
// A block's memory is reused by the reader once its write promise settles, so what was gathered must be a copy.
import t from 'tap'
import { Writable } from 'node:stream'
import { randomBytes } from 'node:crypto'
import { BlockOutput } from '../src/cli/block-output.js'

/** A stream that keeps a copy of every write and calls back on the next turn, as a pipe does. */
function recorder(): Writable & { writes: Buffer[] } {
  const writes: Buffer[] = []
  const w = new Writable({
    highWaterMark: 16 << 10,
    write(chunk: Buffer, _enc, cb) {
      writes.push(Buffer.from(chunk))
      setImmediate(cb)
    },
  })
  return Object.assign(w, { writes })
}

t.test('small blocks are gathered, large ones written whole, all in order', async (t) => {
  const out = recorder()
  const o = new BlockOutput(out)
  const sizes = [400, 300, 40_000, 500, ...Array.from({ length: 300 }, () => 450), 100_000, 7]
  const blocks = sizes.map((n) => randomBytes(n))
  const reused = Buffer.alloc(100_000)
  for (const b of blocks) {
    // The reader hands every block in the same memory, valid until the write settles.
    b.copy(reused)
    await o.write(reused.subarray(0, b.length))
    reused.fill(0xee)
  }
  await o.flush()
  t.ok(Buffer.concat(out.writes).equals(Buffer.concat(blocks)), 'the bytes of every block, in order')
  t.ok(out.writes.length < sizes.length / 10, `${sizes.length} blocks in ${out.writes.length} writes`)
  t.ok(out.writes.every((w) => w.length <= 64 << 10 || w.length === 40_000 || w.length === 100_000), 'gathered writes stay within 64 KiB')
  t.ok(out.writes.some((w) => w.length === 100_000), 'a large block is one write of its own')
})

t.test('flush writes what is gathered, and nothing twice', async (t) => {
  const out = recorder()
  const o = new BlockOutput(out)
  await o.write(Buffer.from('a\n'))
  t.equal(out.writes.length, 0, 'a small block waits for more')
  await o.flush()
  await o.flush()
  t.strictSame(out.writes.map(String), ['a\n'], 'written once by the first flush')
})

t.test('a failing stream fails the write that reaches it', async (t) => {
  const w = new Writable({ write(_c, _e, cb) { cb(Object.assign(new Error('disk full'), { code: 'ENOSPC' })) } })
  w.on('error', () => undefined)
  const o = new BlockOutput(w)
  await o.write(Buffer.from('x'))
  await t.rejects(o.flush(), { code: 'ENOSPC' })
})
