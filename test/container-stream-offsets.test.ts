// Blocks record the stream offsets they hold: records that carry offsets (a Kafka partition's) give each block
// public metadata `offsets: [{ stream, first, last }]` (FORMAT.md §5.3), and CommittedPositions reads, from
// the last checkpoint backwards, the last offset of a stream that the container holds. A block of records
// without offsets stops the walk (nothing before it is trusted for skipping), so an old container skips nothing.
import t from 'tap'
import { open, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { CommittedPositions } from '../src/core/container/positions.js'
import { readCommittedState } from '../src/core/container/session.js'
import { writeContainer } from '../src/core/container/writer.js'
import { DATA_PREFIX_LEN, decodeDataPrefix, HEADER_LEN, parseJsonObject } from '../src/core/format/format.js'
import { makeKeys, parseBoxes, writeOpts } from './helpers/container.js'

/** A line batch of JSON records for `stream`, with offsets from..from+n-1. */
function batch(stream: string, from: number, n: number): unknown {
  const lines = Array.from({ length: n }, (_, k) => `{"n":${from + k}}\n`).join('')
  return { kind: 'lines', format: 'json', data: Buffer.from(lines), count: n, offsets: { stream, at: Array.from({ length: n }, (_, k) => String(from + k)) } }
}

async function blockOffsets(path: string): Promise<unknown[]> {
  const out: unknown[] = []
  for (const b of parseBoxes(await readFile(path))) {
    if (b.header.type !== 'JSON') continue
    const p = b.bytes.subarray(HEADER_LEN)
    const d = decodeDataPrefix(p, p.length, b.offset)
    out.push(parseJsonObject(p.subarray(DATA_PREFIX_LEN, DATA_PREFIX_LEN + d.pubLen), b.offset, 'pub').offsets ?? null)
  }
  return out
}

async function lastOf(path: string, streams: string[]): Promise<Array<string | null>> {
  const fh = await open(path, 'r')
  try {
    const size = (await fh.stat()).size
    const st = await readCommittedState(fh, size, path)
    const pos = new CommittedPositions(fh, size, st.lastIndexOffset)
    const out: Array<string | null> = []
    for (const s of streams) out.push((await pos.last(s))?.toString() ?? null)
    return out
  } finally {
    await fh.close()
  }
}

t.test('each block records the first and last offset of each stream it holds', async (t) => {
  const keys = await makeKeys(t.testdir())
  const path = join(t.testdir(), 'a.maif')
  // Blocks of 5 records: a batch of 7 of one partition, then 6 of two partitions interleaved.
  await writeContainer(path, Readable.from([batch('ev/0', 100, 7), batch('ev/1', 40, 2), batch('ev/0', 107, 4)], { objectMode: true }), writeOpts(keys))
  t.same(await blockOffsets(path), [
    [{ stream: 'ev/0', first: '100', last: '104' }],
    // 105, 106, then ev/1's 40 and 41, then 107: a range per stream
    [{ stream: 'ev/0', first: '105', last: '107' }, { stream: 'ev/1', first: '40', last: '41' }],
    [{ stream: 'ev/0', first: '108', last: '110' }],
  ])
  t.same(await lastOf(path, ['ev/0', 'ev/1', 'ev/2']), ['110', '41', null], 'the last offset held per stream; none for a stream it never held')
})

t.test('a later session is read first; a block without offsets stops the walk', async (t) => {
  const keys = await makeKeys(t.testdir())
  const path = join(t.testdir(), 'b.maif')
  await writeContainer(path, Readable.from([batch('ev/3', 0, 10)], { objectMode: true }), writeOpts(keys))
  await writeContainer(path, Readable.from([batch('ev/3', 10, 3)], { objectMode: true }), writeOpts(keys))
  t.same(await lastOf(path, ['ev/3']), ['12'])
  // Records without offsets (an older writer, another source) after them: nothing before is trusted.
  await writeContainer(path, [{ plain: true }], writeOpts(keys))
  t.same(await lastOf(path, ['ev/3']), [null])
})

t.test('a container written without offsets skips nothing', async (t) => {
  const keys = await makeKeys(t.testdir())
  const path = join(t.testdir(), 'c.maif')
  await writeContainer(path, Array.from({ length: 12 }, (_, i) => ({ i })), writeOpts(keys))
  t.same(await blockOffsets(path), [null, null, null])
  t.same(await lastOf(path, ['ev/0']), [null])
})

t.test('binary objects: each object\'s block records its own offset', async (t) => {
  const keys = await makeKeys(t.testdir())
  const path = join(t.testdir(), 'd.maif')
  const pieces = [0, 1, 2].map((k) => ({ data: Buffer.from(`object ${k}`), last: true }))
  await writeContainer(path, Readable.from([{ kind: 'binary', pieces, offsets: { stream: 'bin/0', at: ['7', '8', '9'] } }], { objectMode: true }), writeOpts(keys, { framer: { mode: 'binary' } }))
  const ranges: unknown[] = []
  for (const b of parseBoxes(await readFile(path))) {
    if (b.header.type !== 'BINA') continue
    const p = b.bytes.subarray(HEADER_LEN)
    const d = decodeDataPrefix(p, p.length, b.offset)
    ranges.push(parseJsonObject(p.subarray(DATA_PREFIX_LEN, DATA_PREFIX_LEN + d.pubLen), b.offset, 'pub').offsets)
  }
  t.same(ranges, ['7', '8', '9'].map((o) => [{ stream: 'bin/0', first: o, last: o }]))
  t.same(await lastOf(path, ['bin/0']), ['9'])
})
