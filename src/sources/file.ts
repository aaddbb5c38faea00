// File source: reads JSONL, text lines or whole binary files in order, in bounded memory, and sends
// malformed lines to a rejection callback with their file and line number instead of failing the job.
import { createReadStream } from 'node:fs'
import { basename } from 'node:path'
import split2 from 'split2'
import { MaifError, wrapError } from '../core/errors.js'
import type { BinaryRecord, LineBatch } from '../transforms/framer.js'
import { OrderedJobs, type WorkerPool } from '../core/worker-pool.js'

export type FileFormat = 'jsonl' | 'text' | 'binary'

export interface Rejection {
  file: string
  line: number
  reason: string
  code: 'MAIF_ERR_RECORD'
  raw: string
}

export interface FileSourceOptions {
  format?: FileFormat
  /** Records per yielded batch. */
  batch?: number
  /** Longest accepted line, in characters. */
  maxLineLength?: number
  /** Segment size for binary files. */
  segmentBytes?: number
  onReject?: (r: Rejection) => void
  /** Validate lines on these worker threads, a chunk at a time (the fast path); without, split2 inline. */
  pool?: WorkerPool
  highWaterMark?: number
}

export interface FileSourceStats { files: number; lines: number; accepted: number; rejected: number; bytes: number }

/** Yields batches of records: Buffers (one line each, without its newline) or binary pieces. */
export async function* readFiles(paths: readonly string[], opts: FileSourceOptions = {}, stats: FileSourceStats = { files: 0, lines: 0, accepted: 0, rejected: 0, bytes: 0 }): AsyncGenerator<Array<Buffer | BinaryRecord> | LineBatch> {
  const format = opts.format ?? 'jsonl'
  if (!['jsonl', 'text', 'binary'].includes(format)) throw new MaifError('MAIF_ERR_INVALID_OPTION', `format must be jsonl, text or binary, got '${format}'`)
  const batchSize = opts.batch ?? 512
  const hwm = opts.highWaterMark ?? 1 << 20
  for (const path of paths) {
    stats.files++
    try {
      if (format === 'binary') {
        yield* readBinary(path, opts.segmentBytes ?? 4 << 20, stats)
        continue
      }
      if (opts.pool) {
        yield* readLinesParallel(path, format === 'jsonl', opts.maxLineLength ?? 64 << 20, hwm, opts.pool, stats, opts.onReject)
        continue
      }
      const lines = createReadStream(path, { highWaterMark: hwm }).pipe(split2('\n', { maxLength: opts.maxLineLength ?? 64 << 20 }))
      let batch: Buffer[] = []
      let n = 0
      for await (const line of lines as AsyncIterable<string>) {
        n++
        stats.lines++
        stats.bytes += line.length + 1
        let reason: string | null = null
        if (format === 'jsonl') {
          if (line.length === 0 || line === '\r') reason = 'empty line'
          else {
            try {
              JSON.parse(line)
            } catch (err) {
              reason = `invalid JSON: ${(err as Error).message}`
            }
          }
        }
        if (reason !== null) {
          stats.rejected++
          opts.onReject?.({ file: path, line: n, reason, code: 'MAIF_ERR_RECORD', raw: line })
          continue
        }
        stats.accepted++
        batch.push(Buffer.from(line, 'utf8'))
        if (batch.length >= batchSize) {
          yield batch
          batch = []
        }
      }
      if (batch.length) yield batch
    } catch (cause) {
      throw cause instanceof MaifError ? cause : wrapError('MAIF_ERR_IO', `reading ${path} failed`, cause)
    }
  }
}

async function* readBinary(path: string, segment: number, stats: FileSourceStats): AsyncGenerator<BinaryRecord[]> {
  // Read one piece ahead so the last piece can be marked as last.
  let pending: Buffer | null = null
  for await (const chunk of createReadStream(path, { highWaterMark: segment }) as AsyncIterable<Buffer>) {
    stats.bytes += chunk.length
    if (pending) yield [{ data: pending, name: basename(path), last: false }]
    pending = chunk
  }
  stats.accepted++
  yield [{ data: pending ?? Buffer.alloc(0), name: basename(path), last: true }]
}

/**
 * The fast path: whole-line chunks (~1 MiB) are validated on worker threads and come back, in order, as
 * line batches with the bad lines taken out and reported with their line numbers.
 */
async function* readLinesParallel(
  path: string, json: boolean, maxLine: number, hwm: number, pool: WorkerPool, stats: FileSourceStats, onReject: FileSourceOptions['onReject'],
): AsyncGenerator<LineBatch> {
  const jobs = new OrderedJobs<{ res: Awaited<ReturnType<WorkerPool['run']>>; firstLine: number }>(pool.size * 2)
  let carry: Buffer | null = null
  let skipping = false // inside an over-long line: drop bytes until its newline
  let lineNo = 0 // lines handed to workers so far
  const submit = (chunk: Buffer): Promise<{ res: Awaited<ReturnType<WorkerPool['run']>>; firstLine: number }> => {
    const firstLine = lineNo
    let n = 0
    for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) n++
    lineNo += n
    return pool.run({ op: 'lines', data: chunk, validateJson: json }).then((res) => ({ res, firstLine }))
  }
  const take = function* (done: { res: Awaited<ReturnType<WorkerPool['run']>>; firstLine: number }): Generator<LineBatch> {
    const r = done.res
    if (r.op !== 'lines') throw new MaifError('MAIF_ERR_IO', 'the line worker answered the wrong request')
    stats.lines += r.lines
    stats.accepted += r.count
    for (const x of r.rejects) {
      stats.rejected++
      onReject?.({ file: path, line: done.firstLine + x.line, reason: x.reason, code: 'MAIF_ERR_RECORD', raw: x.raw })
    }
    if (r.count > 0) yield { kind: 'lines', data: Buffer.from(r.valid.buffer, r.valid.byteOffset, r.valid.byteLength), count: r.count }
  }
  const tooLong = (): void => {
    lineNo++
    stats.lines++
    stats.rejected++
    onReject?.({ file: path, line: lineNo, reason: `line longer than maxLineLength (${maxLine} bytes)`, code: 'MAIF_ERR_RECORD', raw: '' })
  }
  for await (const chunk of createReadStream(path, { highWaterMark: hwm }) as AsyncIterable<Buffer>) {
    stats.bytes += chunk.length
    let data = chunk
    if (skipping) {
      const nl = data.indexOf(0x0a)
      if (nl === -1) continue
      skipping = false
      data = data.subarray(nl + 1)
    }
    const last = data.lastIndexOf(0x0a)
    if (last === -1) {
      carry = carry ? Buffer.concat([carry, data]) : Buffer.from(data)
      if (carry.length > maxLine) { tooLong(); carry = null; skipping = true }
      continue
    }
    const whole = carry ? Buffer.concat([carry, data.subarray(0, last + 1)]) : data.subarray(0, last + 1)
    carry = last + 1 < data.length ? Buffer.from(data.subarray(last + 1)) : null
    const done = await jobs.add(submit(whole))
    if (done) yield* take(done)
  }
  if (carry && carry.length > 0) {
    const done = await jobs.add(submit(Buffer.concat([carry, Buffer.from('\n')])))
    if (done) yield* take(done)
  }
  while (jobs.size > 0) yield* take((await jobs.drainOne())!)
}
