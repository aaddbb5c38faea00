// The appender takes boxes while a write is in flight, up to QUEUE_BYTES of them, and writes them together
// next. Node's own buffer counted boxes (16), so one-record blocks went out 16 or so to a write: a thread-pool
// round trip per few KiB, with the writing thread idle in between. The writes here are slowed (a real file,
// each write delayed) so that many boxes come in during each one, whatever the machine's speed.
import t from 'tap'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { openContainerWriter, writeContainer } from '../src/core/container/writer.js'
import { verifyContainer } from '../src/core/container/verify.js'
import { QUEUE_BYTES } from '../src/core/container/write/appender.js'
import { recoverContainer } from '../src/core/container/recover.js'
import { jsonRecords, makeKeys, removeDir, scratchDir, writeOpts } from './helpers/container.js'

type WritevFn = (buffers: NodeJS.ArrayBufferView[], position?: number | null) => Promise<{ bytesWritten: number }>

/** Every writev of every FileHandle, while `fn` runs: its byte count, after `delayMs`; or `fail` decides to throw. */
async function watchWrites<T>(opts: { delayMs: number; fail?: (call: number) => boolean }, fn: () => Promise<T>): Promise<{ result: T | undefined; error: unknown; calls: number[] }> {
  const probe = await open(import.meta.filename ?? new URL(import.meta.url).pathname, 'r')
  const proto = Object.getPrototypeOf(probe) as { writev: WritevFn }
  await probe.close()
  const real = proto.writev
  const calls: number[] = []
  proto.writev = async function (this: unknown, buffers, position) {
    const n = calls.length
    calls.push(buffers.reduce((s, b) => s + b.byteLength, 0))
    await new Promise((r) => setTimeout(r, opts.delayMs))
    if (opts.fail?.(n)) throw Object.assign(new Error('EIO: i/o error, write (injected)'), { code: 'EIO' })
    return real.call(this, buffers, position)
  }
  try {
    return { result: await fn(), error: undefined, calls }
  } catch (error) {
    return { result: undefined, error, calls }
  } finally {
    proto.writev = real
  }
}

t.test('one-record blocks: many go out in each write, and all of them arrive', async (t) => {
  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const keys = await makeKeys(join(dir, 'keys'))
  const file = join(dir, 'one.maif')
  const n = 2000
  const w = await watchWrites({ delayMs: 20 }, () => writeContainer(file, jsonRecords(n), writeOpts(keys, { framer: { blockRecords: 1 } })))
  t.equal(w.error, undefined)
  // Node's count of 16 let at most 17 boxes into one write (the one in flight and 16 buffered).
  t.ok(w.calls.length < n / 17, `${n} blocks in ${w.calls.length} writes`)
  t.ok(Math.max(...w.calls) <= QUEUE_BYTES + 64 << 10, `no write is much over QUEUE_BYTES (largest ${Math.max(...w.calls)} bytes)`)
  const v = await verifyContainer(file, { pinned: [keys.pub], keyProvider: keys.keyring })
  t.equal(v.ok, true, JSON.stringify(v.errors))
  t.equal(v.records, n)
  t.equal(v.blocks, n)
})

t.test('large blocks: still written several to a write, each write bounded by what was held', async (t) => {
  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const keys = await makeKeys(join(dir, 'keys'))
  const file = join(dir, 'large.maif')
  // 64 blocks of ~200 KiB that zstd cannot shrink (random hex), each above QUEUE_BYTES on its own.
  const { randomBytes } = await import('node:crypto')
  const recs = Array.from({ length: 64 }, (_, i) => ({ i, blob: randomBytes(100 << 10).toString('hex') }))
  const w = await watchWrites({ delayMs: 20 }, () => writeContainer(file, recs, writeOpts(keys, { framer: { blockRecords: 1 } })))
  t.equal(w.error, undefined)
  t.ok(w.calls.length < 64, `64 blocks in ${w.calls.length} writes`)
  // At most what Node buffers while a box is held (16), the held box and the one that filled the queue.
  t.ok(Math.max(...w.calls) <= 18 * (205 << 10) + QUEUE_BYTES, `largest write ${Math.max(...w.calls)} bytes`)
  const v = await verifyContainer(file, { pinned: [keys.pub], keyProvider: keys.keyring })
  t.equal(v.ok, true, JSON.stringify(v.errors))
  t.equal(v.records, 64)
})

t.test('a failed write stops the stream with MAIF_ERR_IO, and the lock is released', async (t) => {
  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const keys = await makeKeys(join(dir, 'keys'))
  const file = join(dir, 'fail.maif')
  const w = await watchWrites({ delayMs: 2, fail: (call) => call === 3 }, () => writeContainer(file, jsonRecords(3000), writeOpts(keys, { framer: { blockRecords: 1 } })))
  t.match(w.error, { code: 'MAIF_ERR_IO', cause: { code: 'EIO' } })
  t.ok(w.calls.length >= 4, 'the failing write was reached')
  t.ok(w.calls.length <= 5, `nothing much was written after it failed (${w.calls.length} writes)`)
  // The session closed and released its lock: recover (which takes the lock) cuts the uncommitted tail the
  // failed batch left, and a new writer appends after the last commit.
  const r = await recoverContainer(file)
  t.equal(r.action, 'cut', 'the uncommitted tail was cut')
  const again = await writeContainer(file, jsonRecords(10), writeOpts(keys))
  t.ok(again.treeSize > 0)
  const v = await verifyContainer(file, { pinned: [keys.pub], keyProvider: keys.keyring })
  t.equal(v.ok, true, JSON.stringify(v.errors))
})

t.test('something that is not a box fails the stream with MAIF_ERR_INVALID_OPTION, and the session closes', async (t) => {
  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const keys = await makeKeys(join(dir, 'keys'))
  const file = join(dir, 'wrong.maif')
  const w = await openContainerWriter(file, writeOpts(keys))
  await t.rejects(pipeline(Readable.from([{ kind: 'block' }], { objectMode: true }), w.sink), { code: 'MAIF_ERR_INVALID_OPTION' })
  // The lock went with the session: a new writer opens the same container.
  const again = await writeContainer(file, jsonRecords(3), writeOpts(keys))
  t.ok(again.treeSize > 0)
})
