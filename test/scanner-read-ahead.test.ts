// The box scanner reads the next chunk while its caller checks the boxes of the current one. Whatever the
// chunk size (smaller than a box, about a box, many boxes), it yields exactly the file's boxes in order, a
// box it calls owned stays intact after the scan moves on, short reads are completed, and a failing read is
// a MAIF_ERR_IO at its offset, not an unhandled rejection.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { scanBoxes } from '../src/core/container/scanner.js'
import { writeContainer } from '../src/core/container/writer.js'
import type { ByteSource } from '../src/core/format/io.js'
import { makeKeys, parseBoxes, removeDir, scratchDir, writeOpts } from './helpers/container.js'

/** The bytes of `buf` as a ByteSource that answers at most `maxRead` bytes a read, and fails past `failAt`. */
function memorySource(buf: Buffer, maxRead = Infinity, failAt = Infinity): ByteSource & { reads: number } {
  return {
    name: 'memory', size: buf.length, reads: 0,
    async readInto(into, offset, length, position) {
      this.reads++
      await new Promise((r) => setImmediate(r))
      if (position + length > failAt) throw new Error('the disk went away')
      const n = Math.max(0, Math.min(length, maxRead, buf.length - position))
      buf.copy(into, offset, position, position + n)
      return n
    },
    stats: () => ({ requests: 0, bytesFetched: 0 }),
    close: async () => undefined,
  }
}

t.test('every chunk size yields the same boxes', async (t) => {
  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const keys = await makeKeys(join(dir, 'keys'))
  const path = join(dir, 'c.maif')
  // Blocks of 12 or 1 records of 1,200 hex characters (which compress to half): boxes from 1 to about 8 KiB.
  const records = Array.from({ length: 60 }, (_, i) => ({ i, blob: randomBytes(600).toString('hex') }))
  await writeContainer(path, records, writeOpts(keys, { framer: { blockRecords: 12 } }))
  await writeContainer(path, records.slice(0, 7), writeOpts(keys, { framer: { blockRecords: 1 } }))
  const bytes = await readFile(path)
  const want = parseBoxes(bytes)
  t.ok(want.some((b) => b.header.size > 4096) && want.some((b) => b.header.size < 1024), 'boxes of several sizes')

  for (const chunkBytes of [64, 1000, 4096, 9000, 1 << 20]) {
    for (const maxRead of [Infinity, 777]) {
      const src = memorySource(bytes, maxRead)
      const got: Array<{ offset: number; type: string; bytes: Buffer }> = []
      const owned: Array<{ at: number; copy: Buffer; bytes: Buffer }> = []
      for await (const b of scanBoxes(src, bytes.length, { chunkBytes })) {
        got.push({ offset: b.offset, type: b.header.type, bytes: Buffer.from(b.bytes) })
        if (b.owned) owned.push({ at: b.offset, copy: Buffer.from(b.bytes), bytes: b.bytes })
      }
      const label = `chunk ${chunkBytes}, reads of at most ${maxRead}`
      t.strictSame(got.map((b) => b.offset), want.map((b) => b.offset), `${label}: every box, in order`)
      t.ok(got.every((b, i) => b.bytes.equals(want[i]!.bytes)), `${label}: each box's bytes`)
      t.ok(owned.every((o) => o.bytes.equals(o.copy)), `${label}: ${owned.length} owned boxes intact after the scan`)
      if (chunkBytes === 64) t.ok(owned.length > 0, 'boxes larger than a chunk are owned')
    }
  }

  // From an offset: the boxes from there on.
  const from = want[3]!.offset
  const tail: number[] = []
  for await (const b of scanBoxes(memorySource(bytes), bytes.length, { from, chunkBytes: 4096 })) tail.push(b.offset)
  t.strictSame(tail, want.slice(3).map((b) => b.offset))

  // A read that fails ahead of the caller surfaces as MAIF_ERR_IO once the scan gets there.
  const failAt = want[5]!.offset + 10
  const seen: number[] = []
  await t.rejects((async () => {
    for await (const b of scanBoxes(memorySource(bytes, Infinity, failAt), bytes.length, { chunkBytes: 4096 })) seen.push(b.offset)
  })(), { code: 'MAIF_ERR_IO', message: /reading the container at offset/ })
  t.ok(seen.length >= 1 && seen.every((o) => o < failAt), 'the boxes before the failure were yielded')

  // A caller that stops early leaves no read behind to fail unobserved.
  const early = memorySource(bytes, Infinity)
  for await (const b of scanBoxes(early, bytes.length, { chunkBytes: 4096 })) if (b.offset > 0) break
  t.ok(early.reads >= 1)
})
