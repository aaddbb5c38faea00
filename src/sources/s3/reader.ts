// Reads the objects under an S3 prefix as batches: listed with ListObjectsV2 (page by page, as reading goes),
// each object streamed with GetObject (from its cursor offset with a Range, pinned to the listed ETag), as
// lines (the shared line reader, JSON validated on worker threads) or as binary pieces. `concurrency` objects
// at a time (p-limit), merged into one bounded queue.
import { basename } from 'node:path'
import { Readable } from 'node:stream'
import pLimit from 'p-limit'
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { listObjects, s3Error, s3Url } from '../../core/aws/s3.js'
import { readLines, type LineStats, type Rejection } from '../../core/runtime/line-reader.js'
import type { WorkerPool } from '../../core/workers/worker-pool.js'
import type { Batch } from '../../core/runtime/types.js'
import type { ObjectPosition } from './cursor.js'
import type { RecordPositions } from '../../core/runtime/record-positions.js'

/** The s3 source's acknowledgement token: the object, where the batch ends, and where each record ends. */
export interface ObjectToken {
  key: string
  etag: string | undefined
  offset: number
  line: number
  last: boolean
  /** Where each record ends, and its line number (absent for binary pieces). */
  records?: RecordPositions
}

export interface S3ReadOptions {
  client: S3Client
  bucket: string
  prefix: string
  format: 'jsonl' | 'text' | 'binary'
  pool: WorkerPool | null
  maxLineLength: number
  concurrency: number
  stats: LineStats & { files: number }
  onReject: (r: Rejection) => void
  start: (key: string) => ObjectPosition | undefined
  stop: AbortSignal
  segmentBytes?: number
  /** Keys per ListObjectsV2 page. */
  pageSize?: number
  /** Read only this key (the source names one object). */
  only?: string
}

const SEGMENT = 4 << 20

/** The body of an object from `offset`, as a stream; an object replaced since it was listed fails (If-Match). */
async function body(o: S3ReadOptions, key: string, etag: string | undefined, offset: number): Promise<Readable> {
  try {
    const res = await o.client.send(new GetObjectCommand({ Bucket: o.bucket, Key: key, ...(offset > 0 ? { Range: `bytes=${offset}-` } : {}), ...(etag ? { IfMatch: etag } : {}) }))
    return res.Body as Readable
  } catch (err) {
    throw s3Error(`GET ${s3Url(o.bucket, key)}`, err)
  }
}

/** Binary pieces of at most `segment` bytes, one ahead so the last can be marked. */
async function* pieces(input: AsyncIterable<Buffer>, segment: number): AsyncGenerator<Buffer> {
  let buf: Buffer[] = []
  let n = 0
  for await (const chunk of input) {
    buf.push(chunk)
    n += chunk.length
    while (n >= segment) {
      const all = Buffer.concat(buf, n)
      yield all.subarray(0, segment)
      buf = n > segment ? [all.subarray(segment)] : []
      n -= segment
    }
  }
  if (n > 0) yield Buffer.concat(buf, n)
}

export async function* readObjects(o: S3ReadOptions): AsyncGenerator<Batch> {
  const limit = pLimit(o.format === 'binary' ? 1 : o.concurrency) // pieces of two binary objects must not interleave
  const queue: Batch[] = []
  const w: { wake: (() => void) | null; space: Array<() => void> } = { wake: null, space: [] }
  let failed: unknown
  let started = 0
  let finished = 0
  let listed = false
  const cap = Math.max(4, o.concurrency * 2)
  const signal = (): void => { w.wake?.(); w.wake = null }
  const put = async (item: Batch): Promise<void> => {
    while (queue.length >= cap) await new Promise<void>((r) => { w.space.push(r) })
    queue.push(item)
    signal()
  }
  const one = async (key: string, etag: string | undefined, size: number): Promise<void> => {
    const url = s3Url(o.bucket, key)
    let st = o.start(key)
    if (st && st.etag !== undefined && etag !== undefined && st.etag !== etag) st = undefined // replaced since: read it anew
    if (st?.done || o.stop.aborted) return
    o.stats.files++
    const from = st?.offset ?? 0
    if (o.format === 'binary') {
      // A binary object is one record: a partly read one is read again from its start.
      const input = size === 0 ? Readable.from([]) : await body(o, key, etag, 0)
      let n = 0
      let pending: Buffer | null = null
      const emit = async (data: Buffer, last: boolean): Promise<void> => {
        n += data.length
        if (last) o.stats.accepted++
        await put({ kind: 'binary', format: 'binary', pieces: [{ data, name: basename(key), meta: { object: url }, last }], count: last ? 1 : 0, ack: { key, etag, offset: n, line: 0, last } satisfies ObjectToken })
      }
      for await (const p of pieces(input as AsyncIterable<Buffer>, o.segmentBytes ?? SEGMENT)) {
        o.stats.bytes += p.length
        if (pending) await emit(pending, false)
        if (o.stop.aborted) { input.destroy(); return }
        pending = p
      }
      await emit(pending ?? Buffer.alloc(0), true)
      return
    }
    const input = from >= size ? Readable.from([]) : await body(o, key, etag, from)
    const gen = readLines(url, o.format === 'jsonl', o.maxLineLength, 1 << 20, o.pool, o.stats, o.onReject, { offset: from, line: st?.line ?? 0, input })
    try {
      for await (const b of gen) {
        const ack: ObjectToken = { key, etag, offset: b.pos.offset, line: b.pos.line, last: b.pos.last, records: b.records }
        await put({ kind: 'lines', format: o.format === 'jsonl' ? 'json' : 'text', data: b.data, count: b.count, ack })
        if (o.stop.aborted) return
      }
    } finally {
      input.destroy()
    }
  }
  const all: Array<Promise<void>> = []
  // Listing runs as reading goes: a page is fetched when the objects before it have been handed to p-limit.
  const lister = (async () => {
    for await (const obj of listObjects(o.client, o.bucket, o.prefix, o.pageSize ? { pageSize: o.pageSize } : {})) {
      if (o.stop.aborted || failed !== undefined) break
      if (obj.key.endsWith('/')) continue // a "folder" marker holds no records
      if (o.only !== undefined && obj.key !== o.only) continue
      started++
      all.push(limit(() => one(obj.key, obj.etag, obj.size)).catch((err: unknown) => { failed ??= err }).finally(() => { finished++; signal() }))
      while (limit.pendingCount > cap) await new Promise((r) => setTimeout(r, 20))
    }
  })().catch((err: unknown) => { failed ??= err }).finally(() => { listed = true; signal() })
  while (true) {
    if (queue.length > 0) {
      yield queue.shift()!
      w.space.shift()?.()
      continue
    }
    if (failed !== undefined) throw failed
    if (listed && finished === started) break
    await new Promise<void>((r) => { w.wake = r })
  }
  await lister
  await Promise.all(all)
  if (failed !== undefined) throw failed
}
