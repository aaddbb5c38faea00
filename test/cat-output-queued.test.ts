// cat's output copies each block and queues it, so the main thread opens the next blocks while the reader drains
// the last ones. The queue is bounded by bytes, keeps the order, reuses its buffers, and a write that fails fails
// every later call instead of being lost.
import t from 'tap'
import { Writable } from 'node:stream'
import { randomBytes } from 'node:crypto'
import { setTimeout as delay } from 'node:timers/promises'
import { BlockOutput, COPY_MAX, QUEUE_BYTES } from '../src/cli/block-output.js'

/**
 * A stream that holds every write until `release()` calls it back, and keeps a copy of what it was given
 * (`writes`) and the memory it was given it in (`memories`).
 */
function held(): Writable & { writes: Buffer[]; memories: ArrayBufferLike[]; waiting: number; release: () => void } {
  const writes: Buffer[] = []
  const memories: ArrayBufferLike[] = []
  const callbacks: Array<() => void> = []
  const w = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _enc, cb) {
      writes.push(Buffer.from(chunk))
      memories.push(chunk.buffer)
      callbacks.push(cb)
    },
  })
  Object.defineProperty(w, 'waiting', { get: () => callbacks.length })
  return Object.assign(w as Writable & { waiting: number }, { writes, memories, release: () => { callbacks.shift()?.() } })
}

/** Flushes `o`, letting the held stream take the last write. */
async function finish(o: BlockOutput, out: ReturnType<typeof held>): Promise<void> {
  const flushed = o.flush()
  out.release()
  await flushed
}

/** Whether `p` settles within a few turns of the event loop (a held stream never calls back on its own). */
async function settles(p: Promise<unknown>): Promise<boolean> {
  return Promise.race([p.then(() => true), delay(100).then(() => false)])
}

t.test('a write settles before the stream took the block, and the block was copied', async (t) => {
  const out = held()
  const o = new BlockOutput(out)
  const block = randomBytes(200_000)
  const expected = Buffer.from(block)
  t.ok(await settles(o.write(block)), 'write settled while the stream still holds the block')
  // The reader reuses the block's memory as soon as the write settled.
  block.fill(0)
  t.equal(out.waiting, 1, 'the stream has it')
  const flushed = o.flush()
  t.notOk(await settles(flushed), 'flush waits for the stream')
  out.release()
  await flushed
  t.ok(out.writes[0]!.equals(expected), 'the bytes given, not what the memory holds now')
})

t.test(`at most ${QUEUE_BYTES} bytes wait: a further block waits for the one before`, async (t) => {
  const out = held()
  const o = new BlockOutput(out)
  const half = QUEUE_BYTES / 2 + 4096
  const a = randomBytes(half)
  const b = randomBytes(half)
  const c = randomBytes(half)
  t.ok(await settles(o.write(a)), 'the first block is queued')
  const second = o.write(b)
  t.notOk(await settles(second), 'the second would take the queue past its bound: it waits')
  out.release()
  t.ok(await settles(second), 'once the first is written, the second is queued')
  const third = o.write(c)
  t.notOk(await settles(third), 'and the third waits for the second')
  out.release()
  await third
  await finish(o, out)
  t.ok(Buffer.concat(out.writes).equals(Buffer.concat([a, b, c])), 'every byte once, in order')
})

t.test('a block larger than the queue is queued alone', async (t) => {
  const out = held()
  const o = new BlockOutput(out)
  const big = randomBytes(QUEUE_BYTES + 100_000)
  t.ok(await settles(o.write(big)), 'an empty queue takes it')
  const next = o.write(randomBytes(40_000))
  t.notOk(await settles(next), 'the next block waits for it')
  out.release()
  await next
  await finish(o, out)
  t.equal(out.writes.length, 2)
})

t.test(`a block larger than ${COPY_MAX} bytes is not copied: it is written from the caller's memory, in order, and waited for`, async (t) => {
  const out = held()
  const o = new BlockOutput(out)
  const before = randomBytes(200_000)
  const huge = randomBytes(COPY_MAX + 1)
  t.ok(await settles(o.write(before)), 'a block before it is queued')
  const writing = o.write(huge)
  t.notOk(await settles(writing), 'the large block waits for the write before it')
  out.release()
  t.notOk(await settles(writing), 'and for its own write')
  t.equal(out.memories[1], huge.buffer, 'the stream was given the caller\'s memory')
  out.release()
  await writing
  await o.flush()
  t.ok(Buffer.concat(out.writes).equals(Buffer.concat([before, huge])), 'both, in order')
})

t.test('the queue reuses its buffers: many blocks go out through a few', async (t) => {
  const memories = new Set<ArrayBufferLike>()
  let bytes = 0
  const out = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _e, cb) { memories.add(chunk.buffer); bytes += chunk.length; setImmediate(cb) },
  })
  const o = new BlockOutput(out)
  // Blocks of about one size, as pack writes them, a tenth apart.
  const sizes = Array.from({ length: 300 }, (_, i) => 500_000 + ((i * 7919) % 50_000))
  const scratch = randomBytes(600_000)
  for (const n of sizes) await o.write(scratch.subarray(0, n))
  await o.flush()
  t.equal(bytes, sizes.reduce((a, n) => a + n, 0), 'every byte written')
  t.ok(memories.size <= 3, `${sizes.length} blocks through ${memories.size} buffers`)
})

t.test('a write that fails fails every later write and flush, and nothing after it is written', async (t) => {
  const unhandled: unknown[] = []
  const onUnhandled = (e: unknown): void => { unhandled.push(e) }
  process.on('unhandledRejection', onUnhandled)
  t.teardown(() => { process.off('unhandledRejection', onUnhandled) })
  const writes: Buffer[] = []
  const out = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _e, cb) {
      if (writes.length === 1) return cb(Object.assign(new Error('disk full'), { code: 'ENOSPC' }))
      writes.push(Buffer.from(chunk))
      cb()
    },
  })
  out.on('error', () => undefined)
  const o = new BlockOutput(out)
  const a = randomBytes(100_000)
  await o.write(a)
  await o.write(randomBytes(100_000)) // queued; its write fails once the stream reaches it
  await delay(20)
  await t.rejects(o.write(randomBytes(100_000)), { code: 'ENOSPC' }, 'the next write fails with the cause')
  await t.rejects(o.flush(), { code: 'ENOSPC' }, 'and so does flush')
  t.equal(writes.length, 1, 'only the block before the failure reached the stream')
  t.ok(writes[0]!.equals(a))
  await delay(20)
  t.strictSame(unhandled, [], 'no rejection left unhandled')
})
