// A file source reads one chunk ahead: while the consumer works on a chunk, the next one is already being read
// on the thread pool (without it, the engine's main thread waited for every read in turn: 40% of a plain
// file-to-file run idle). A consumer that stops early still gets the file closed, after the read in flight.
import t, { type Test } from 'tap'
import { open, writeFile, type FileHandle } from 'node:fs/promises'
import type { EventEmitter } from 'node:events'
import { join } from 'node:path'
import { fileChunks } from '../src/core/runtime/line-reader.js'

const KiB = 1024

/** Logs every read of a FileHandle and its completion, and the handle's close ('close' event). */
async function withCountedReads(t: Test, file: string): Promise<{ events: string[] }> {
  const probe = await open(file, 'r')
  const proto = Object.getPrototypeOf(probe) as { read: (...a: unknown[]) => Promise<{ bytesRead: number }> }
  await probe.close()
  const { read } = proto
  const events: string[] = []
  const watched = new WeakSet<object>()
  proto.read = function (this: FileHandle, ...a: unknown[]) {
    if (!watched.has(this)) {
      watched.add(this)
      ;(this as unknown as EventEmitter).once('close', () => events.push('close'))
    }
    events.push('read')
    return read.apply(this, a).then((r) => { events.push(`read done ${r.bytesRead}`); return r })
  }
  t.teardown(() => { proto.read = read })
  return { events }
}

t.test('the next chunk is being read while the consumer holds this one', async (t) => {
  const file = join(t.testdir(), 'in.txt')
  await writeFile(file, Buffer.alloc(10 * KiB, 0x61))
  const { events } = await withCountedReads(t, file)
  const it = fileChunks(file, 0, 4 * KiB)
  const first = await it.next()
  t.equal(first.value?.length, 4 * KiB)
  t.equal(events.filter((e) => e === 'read').length, 2, 'the second read was issued before the first chunk was handed over')
  const sizes: number[] = [first.value!.length]
  for (let r = await it.next(); !r.done; r = await it.next()) sizes.push(r.value.length)
  t.strictSame(sizes, [4 * KiB, 4 * KiB, 2 * KiB], 'every byte, in order')
  t.equal(events.at(-1), 'close', `the file is closed at the end: ${events.join(', ')}`)
})

t.test('a consumer that stops early: the read in flight completes, then the file closes', async (t) => {
  const file = join(t.testdir(), 'in.txt')
  await writeFile(file, Buffer.alloc(64 * KiB, 0x62))
  const { events } = await withCountedReads(t, file)
  const it = fileChunks(file, 0, 8 * KiB)
  const first = await it.next()
  t.equal(first.value?.[0], 0x62)
  await it.return(undefined)
  t.strictSame(events, ['read', 'read done 8192', 'read', 'read done 8192', 'close'], `the read ahead finished before the close: ${events.join(', ')}`)
})
