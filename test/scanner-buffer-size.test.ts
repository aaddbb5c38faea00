// The box scanner's buffers are sized for what there is to read. A container smaller than a chunk is read into
// one buffer of about its size; only a container larger than a chunk gets the two chunk buffers (with room for
// a carried-over box) that let reading and checking overlap. Two 12 MiB buffers for every small container made
// a process that verifies many of them spend most of its time in V8's garbage collector.
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { scanBoxes } from '../src/core/container/scanner.js'
import { writeContainer } from '../src/core/container/writer.js'
import type { ByteSource } from '../src/core/format/io.js'
import { jsonRecords, makeKeys, parseBoxes, removeDir, scratchDir, writeOpts } from './helpers/container.js'

/** The bytes of `buf` as a ByteSource that records the memory behind every buffer the scanner reads into. */
function recordingSource(buf: Buffer): ByteSource & { memory: Set<ArrayBufferLike>; views: number[] } {
  return {
    name: 'memory', size: buf.length, memory: new Set(), views: [],
    async readInto(into, offset, length, position) {
      this.memory.add(into.buffer)
      this.views.push(into.length)
      const n = Math.max(0, Math.min(length, buf.length - position))
      buf.copy(into, offset, position, position + n)
      return n
    },
    stats: () => ({ requests: 0, bytesFetched: 0 }),
    close: async () => undefined,
  }
}

const scanAll = async (src: ByteSource, size: number, chunkBytes?: number): Promise<number[]> => {
  const offsets: number[] = []
  for await (const b of scanBoxes(src, size, chunkBytes === undefined ? {} : { chunkBytes })) offsets.push(b.offset)
  return offsets
}

t.test('buffers follow the container size', async (t) => {
  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const keys = await makeKeys(join(dir, 'keys'))
  const path = join(dir, 'c.maif')
  await writeContainer(path, jsonRecords(40), writeOpts(keys, { framer: { blockRecords: 8 } }))
  const bytes = await readFile(path)
  const want = parseBoxes(bytes).map((b) => b.offset)
  t.ok(bytes.length < 16 << 10, `a small container (${bytes.length} bytes)`)

  await t.test('a container smaller than a chunk: one buffer of its size', async (t) => {
    const src = recordingSource(bytes)
    t.strictSame(await scanAll(src, bytes.length), want, 'every box, in order')
    t.equal(src.memory.size, 1, 'one buffer')
    t.ok(src.views.every((n) => n <= bytes.length), `read into a view no larger than the file (${src.views.join(', ')} bytes)`)
    // allocUnsafe may place a small buffer in Node's shared pool (Buffer.poolSize: 8 KiB on Node 20, 64 KiB on 24).
    const held = Math.max(...[...src.memory].map((m) => m.byteLength))
    t.ok(held <= Math.max(bytes.length, Buffer.poolSize), `the memory behind it is ${held} bytes`)
  })

  await t.test('a scan from an offset: sized for the rest of the file', async (t) => {
    const src = recordingSource(bytes)
    const from = want[2]!
    const offsets: number[] = []
    for await (const b of scanBoxes(src, bytes.length, { from })) offsets.push(b.offset)
    t.strictSame(offsets, want.slice(2), 'the boxes from there on')
    t.ok(src.views.every((n) => n <= bytes.length - from), `read into views of at most ${bytes.length - from} bytes`)
  })

  await t.test('a container larger than a chunk: two chunk buffers with room for a carry', async (t) => {
    const src = recordingSource(bytes)
    const chunkBytes = 1024
    t.strictSame(await scanAll(src, bytes.length, chunkBytes), want, 'every box, in order')
    t.equal(src.memory.size, 2, 'reading ahead uses a second buffer')
    t.ok([...src.memory].every((m) => m.byteLength > chunkBytes + (4 << 20)), 'each has room for a carried-over box')
  })

  await t.test('an empty span yields nothing and reads nothing', async (t) => {
    const src = recordingSource(bytes)
    const offsets: number[] = []
    for await (const b of scanBoxes(src, bytes.length, { from: bytes.length })) offsets.push(b.offset)
    t.strictSame(offsets, [])
    t.equal(src.views.length, 0)
  })
})
