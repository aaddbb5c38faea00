// Object records are serialised many at a time, as one JSON array cut apart at its `},{`. Whatever the objects
// hold (`},{` in strings, nested arrays of objects, toJSON, boxed primitives, proxies, raw JSON, non-ASCII),
// every line is exactly JSON.stringify of its record, in order, and the block limits hold as before.
import t from 'tap'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Writable } from 'node:stream'
import { BlockFramer, type FramerOptions } from '../src/core/container/write/framer.js'
import type { Block } from '../src/core/container/blocks.js'

async function frame(records: unknown[], opts: FramerOptions = {}): Promise<Block[]> {
  const blocks: Block[] = []
  await pipeline(
    Readable.from(records, { objectMode: true }),
    new BlockFramer(opts),
    new Writable({ objectMode: true, write(b: Block, _e, cb) { blocks.push(b); cb() } }),
  )
  return blocks
}

const lines = (blocks: Block[]): string[] => blocks.flatMap((b) => {
  const s = b.data.toString('utf8')
  return s.slice(0, -1).split('\n')
})

function plain(i: number): Record<string, unknown> {
  return { i, ts: new Date(1_700_000_000_000 + i).toISOString(), msg: `event ${i} ${'x'.repeat(i % 300)}`, ok: i % 3 === 0 }
}

t.test('plain objects: each line is JSON.stringify of its record, in order', async (t) => {
  const recs = Array.from({ length: 5000 }, (_, i) => plain(i))
  const blocks = await frame(recs, { blockRecords: 700 })
  t.strictSame(lines(blocks), recs.map((r) => JSON.stringify(r)))
  t.strictSame(blocks.map((b) => b.records), [700, 700, 700, 700, 700, 700, 700, 100], 'blockRecords is exact')
  for (const b of blocks) t.equal(b.pub.records, b.records)
})

t.test('objects whose JSON holds `},{` (in strings and nested arrays) still come out one per line', async (t) => {
  const recs: unknown[] = []
  for (let i = 0; i < 3000; i++) {
    if (i % 97 === 5) recs.push({ i, s: 'a},{b' })
    else if (i % 89 === 7) recs.push({ i, items: [{ a: 1 }, { b: 2 }] })
    else recs.push(plain(i))
  }
  // A batch in which the extra `},{` exactly makes up for a boundary that is not one (raw JSON where the
  // runtime has it; else a Date, which serialises as a string).
  const odd = (JSON as { rawJSON?: (s: string) => unknown }).rawJSON?.('1') ?? new Date(0)
  recs.push(odd, { s: '},{' }, odd, { s: '},{' })
  const blocks = await frame(recs)
  t.strictSame(lines(blocks), recs.map((r) => JSON.stringify(r)))
})

// (An array written to the framer is a batch of records, not a record.)
t.test('values JSON does not write as an object go one by one, and serialise as JSON.stringify says', async (t) => {
  const target = { p: 1 }
  const recs: unknown[] = [
    plain(0), new Date(5), plain(1), Object.assign(new Number(3), {}), plain(2), new String('},{'), plain(3),
    { toJSON: () => ({ replaced: true }) }, plain(4),
    new Proxy(target, {}), plain(5), new Proxy({ a: [{ x: 1 }, { y: 2 }] }, { getPrototypeOf: () => Object.prototype }), plain(6),
    Object.create(null, { k: { value: 'v', enumerable: true } }), plain(7),
  ]
  for (let i = 8; i < 600; i++) recs.push(plain(i))
  const blocks = await frame(recs)
  t.strictSame(lines(blocks), recs.map((r) => JSON.stringify(r)))
})

t.test('a proxy that answers differently each time is serialised on its own', async (t) => {
  let gets = 0
  // The framer's look at toJSON sees none; JSON.stringify's finds one and writes a number, not an object. With
  // the string's two `},{` making up the count, a batch would be cut in the wrong place.
  const shifty = new Proxy({}, { get: (_t, k) => (k === 'toJSON' ? (gets++ === 0 ? undefined : () => 7) : undefined) })
  const recs: unknown[] = [plain(0), plain(1), shifty, { s: '},{},{' }, plain(2), plain(3)]
  const blocks = await frame(recs)
  t.strictSame(lines(blocks), [plain(0), plain(1), 7, { s: '},{},{' }, plain(2), plain(3)].map((r) => JSON.stringify(r)))
})

t.test('strings, Buffers and objects keep their order', async (t) => {
  const recs: unknown[] = []
  const want: string[] = []
  for (let i = 0; i < 4000; i++) {
    const k = i % 7
    if (k === 3) { const s = `{"str":${i},"u":"日本 ✓"}`; recs.push(s); want.push(s) }
    else if (k === 5) { const s = `{"buf":${i}}`; recs.push(Buffer.from(s)); want.push(s) }
    else { const o = { obj: i, u: 'é𝄞' }; recs.push(o); want.push(JSON.stringify(o)) }
  }
  const blocks = await frame(recs, { blockRecords: 333 })
  t.strictSame(lines(blocks), want)
  t.ok(blocks.slice(0, -1).every((b) => b.records === 333), 'blockRecords is exact across record kinds')
})

t.test('blockBytes stays a soft limit of about one record, not one batch', async (t) => {
  const recs = Array.from({ length: 20_000 }, (_, i) => ({ i, pad: 'p'.repeat(200 + (i % 50)) }))
  const blocks = await frame(recs, { blockBytes: 64 << 10 })
  t.strictSame(lines(blocks), recs.map((r) => JSON.stringify(r)))
  const biggest = Math.max(...recs.map((r) => JSON.stringify(r).length + 1))
  for (const b of blocks.slice(0, -1)) {
    t.ok(b.data.length >= (64 << 10) - biggest, `block of ${b.data.length} B is full`)
    t.ok(b.data.length < (64 << 10) + 2 * biggest, `block of ${b.data.length} B overshoots by at most about a record`)
  }
})

t.test('a record JSON cannot serialise fails the stream with MAIF_ERR_RECORD; the records before it are kept', async (t) => {
  const blocks: Block[] = []
  const recs: unknown[] = Array.from({ length: 900 }, (_, i) => plain(i))
  recs.splice(700, 0, { i: 'bad', n: 10n })
  const framer = new BlockFramer({ blockRecords: 100 })
  const err = await pipeline(
    Readable.from(recs, { objectMode: true }),
    framer,
    new Writable({ objectMode: true, write(b: Block, _e, cb) { blocks.push(b); cb() } }),
  ).then(() => null, (e: unknown) => e as Error & { code?: string; cause?: unknown })
  t.equal(err?.code, 'MAIF_ERR_RECORD')
  t.match(err?.message, /could not be serialised as JSON.*BigInt/)
  t.type(err?.cause, TypeError)
  t.strictSame(lines(blocks), recs.slice(0, 700).map((r) => JSON.stringify(r)), 'the full blocks before the bad record')
  const circular: Record<string, unknown> = { a: 1 }
  circular.self = circular
  await t.rejects(frame([plain(1), circular, plain(2)]), { code: 'MAIF_ERR_RECORD', message: /circular/i })
  await t.rejects(frame([{ toJSON: () => undefined }]), { code: 'MAIF_ERR_RECORD', message: /serialised to nothing/ })
})

t.test('a record that cannot be serialised, still pending when its block is flushed by time or by the end, fails the stream', async (t) => {
  // By time: the framer fails with MAIF_ERR_RECORD instead of throwing from its timer.
  const timed = new BlockFramer({ blockMs: 20, blockRecords: 1000 })
  timed.resume()
  const failed = new Promise<Error & { code?: string }>((resolve) => timed.on('error', resolve))
  timed.write(plain(0)) // the first batch is one record: the next ones wait
  timed.write(plain(1))
  timed.write({ n: 1n })
  const alive = setTimeout(() => {}, 5000) // the framer's timer does not hold the process open
  const err = await failed
  clearTimeout(alive)
  t.equal(err.code, 'MAIF_ERR_RECORD')
  t.match(err.message, /BigInt/)
  // By the end of the input.
  await t.rejects(frame([plain(0), plain(1), { n: 2n }]), { code: 'MAIF_ERR_RECORD', message: /BigInt/ })
})

t.test('a partial block is flushed by time with its pending objects', async (t) => {
  const framer = new BlockFramer({ blockMs: 20, blockRecords: 1000 })
  const got: Block[] = []
  framer.on('data', (b: Block) => got.push(b))
  for (let i = 0; i < 5; i++) framer.write(plain(i))
  await new Promise((r) => setTimeout(r, 120))
  t.equal(got.length, 1, 'one block by time')
  t.strictSame(lines(got), [0, 1, 2, 3, 4].map((i) => JSON.stringify(plain(i))))
  framer.end()
})
