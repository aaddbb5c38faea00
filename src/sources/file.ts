// File source: reads JSONL, text lines or whole binary files in order, in bounded memory, and sends
// malformed lines to a rejection callback with their file and line number instead of failing the job.
import { createReadStream } from 'node:fs'
import { basename } from 'node:path'
import split2 from 'split2'
import { MaifError, wrapError } from '../core/errors.js'
import type { BinaryRecord } from '../transforms/framer.js'

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
  highWaterMark?: number
}

export interface FileSourceStats { files: number; lines: number; accepted: number; rejected: number; bytes: number }

/** Yields batches of records: Buffers (one line each, without its newline) or binary pieces. */
export async function* readFiles(paths: readonly string[], opts: FileSourceOptions = {}, stats: FileSourceStats = { files: 0, lines: 0, accepted: 0, rejected: 0, bytes: 0 }): AsyncGenerator<Array<Buffer | BinaryRecord>> {
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
      throw wrapError('MAIF_ERR_IO', `reading ${path} failed`, cause)
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
