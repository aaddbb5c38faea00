// Reads many inputs, `concurrency` files at a time (p-limit), merged into one stream of batches that each
// carry an acknowledgement token: the file, where the batch ends, and where each of its records ends.
import pLimit from 'p-limit'
import { readLines, type LineStats, type Rejection } from '../../core/runtime/line-reader.js'
import type { WorkerPool } from '../../core/workers/worker-pool.js'
import type { Batch } from '../../core/runtime/types.js'
import { readBinary } from './binary.js'
import type { RecordPositions } from '../../core/runtime/record-positions.js'

export type FileFormat = 'jsonl' | 'text' | 'binary'

/** The file source's acknowledgement token. */
export interface FileToken {
  file: string
  /** Where the batch ends: byte offset and line number. */
  offset: number
  line: number
  /** The input is finished once this batch is durable. */
  last: boolean
  /** Where each record ends, and its line number (absent for binary pieces). */
  records?: RecordPositions
}

export interface FileReadOptions {
  format: FileFormat
  /** Validates JSON lines on other threads; without one, lines are split here. */
  pool: WorkerPool | null
  maxLineLength: number
  concurrency: number
  stats: LineStats & { files: number }
  onReject: (r: Rejection) => void
  /** Keep where each record ends, for a cursor to resume from (default true). */
  positions?: boolean
  /** Where each file starts (from a cursor); files marked done are skipped. */
  start?: (file: string) => { offset: number; line: number; done: boolean } | undefined
  /** Graceful stop: no new batch is read once this is aborted. */
  stop?: AbortSignal
  segmentBytes?: number
  /** Input stream for '-'. */
  stdin?: NodeJS.ReadableStream
}

export async function* readInputs(files: readonly string[], o: FileReadOptions): AsyncGenerator<Batch> {
  // A binary file arrives as consecutive pieces of one object: files are read one at a time so that
  // pieces of two objects never interleave (the framer would join them).
  const limit = pLimit(o.format === 'binary' ? 1 : o.concurrency)
  const queue: Batch[] = []
  // Two wake-ups: the consumer waits for an item, producers wait for room (bounded queue = backpressure).
  const w: { wake: (() => void) | null; space: Array<() => void> } = { wake: null, space: [] }
  let failed: unknown
  let finished = 0
  const cap = Math.max(4, o.concurrency * 2)
  const signal = (): void => { w.wake?.(); w.wake = null }
  const put = async (item: Batch): Promise<void> => {
    while (queue.length >= cap) await new Promise<void>((r) => { w.space.push(r) })
    queue.push(item)
    signal()
  }
  const one = async (file: string): Promise<void> => {
    const st = file === '-' ? undefined : o.start?.(file)
    if (st?.done || o.stop?.aborted) return
    o.stats.files++
    if (o.format === 'binary') {
      let n = 0
      for await (const piece of readBinary(file, o.segmentBytes ?? 4 << 20, o.stats)) {
        if (o.stop?.aborted) return
        n += piece.data.length
        const last = piece.last !== false
        if (last) o.stats.accepted++
        const ack: FileToken = { file, offset: n, line: 0, last }
        await put({ kind: 'binary', format: 'binary', pieces: [piece], count: last ? 1 : 0, ack })
      }
      return
    }
    const input = file === '-' ? o.stdin ?? process.stdin : undefined
    const gen = readLines(file, o.format === 'jsonl', o.maxLineLength, 1 << 20, o.pool, o.stats, o.onReject, { offset: st?.offset ?? 0, line: st?.line ?? 0, ...(input ? { input } : {}), ...(o.stop ? { stop: o.stop } : {}), ...(o.positions === false ? { positions: false } : {}) })
    // After a stop a file is left where the batches taken end (the cursor resumes there); stdin is read to
    // the end of what it had buffered (the reader ends at once: see untilStopped), since it cannot be re-read.
    for await (const b of gen) {
      const ack: FileToken = { file: b.pos.file, offset: b.pos.offset, line: b.pos.line, last: b.pos.last, records: b.records }
      await put({ kind: 'lines', format: o.format === 'jsonl' ? 'json' : 'text', data: b.data, count: b.count, ack, ...(b.releaseData ? { releaseData: b.releaseData } : {}) })
      if (o.stop?.aborted && !input) return
    }
  }
  const all = files.map((f) => limit(() => one(f)).catch((err: unknown) => { failed ??= err }).finally(() => { finished++; signal() }))
  while (true) {
    if (queue.length > 0) {
      yield queue.shift()!
      w.space.shift()?.()
      continue
    }
    if (failed !== undefined) throw failed
    if (finished === files.length) break
    await new Promise<void>((r) => { w.wake = r })
  }
  await Promise.all(all)
  if (failed !== undefined) throw failed
}
