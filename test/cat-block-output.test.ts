// cat's output gathers small blocks into writes of up to 64 KiB and writes large ones as they are, in order.
// A block's memory is reused by the reader once its write promise settles, so what was gathered must be a copy.
import t from 'tap'
import { Writable } from 'node:stream'
import { randomBytes } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { closeSync, constants, openSync, readSync } from 'node:fs'
import { join } from 'node:path'
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

t.test('a descriptor that turns out non-blocking: what it did not take goes through the stream, in order', async (t) => {
  const dir = t.testdir()
  const fifo = join(dir, 'fifo')
  execFileSync('mkfifo', [fifo])
  // Both ends open non-blocking, and nobody reads until the end: the pipe takes 64 KiB, then EAGAIN.
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK)
  const writer = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK)
  try {
    const out = recorder()
    const o = new BlockOutput(out, writer)
    const blocks = [randomBytes(300_000), randomBytes(50_000), randomBytes(200_000)]
    for (const b of blocks) await o.write(b)
    await o.flush()
    const piped = Buffer.alloc(1 << 20)
    const n = readSync(reader, piped, 0, piped.length, null)
    t.ok(n > 0 && n < 300_000, `the descriptor took ${n} bytes before it was full`)
    t.ok(Buffer.concat([piped.subarray(0, n), ...out.writes]).equals(Buffer.concat(blocks)), 'descriptor, then stream: every byte once, in order')
  } finally {
    closeSync(writer)
    closeSync(reader)
  }
})
