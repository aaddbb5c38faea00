// File source: reads JSONL, text lines or whole binary files in order, in bounded memory, and sends
// malformed lines to a rejection callback with their file and line number instead of failing the job.
import { createReadStream } from 'node:fs'
import { basename } from 'node:path'
import split2 from 'split2'
import { MaifError, wrapError } from '../../core/errors.js'
import type { BinaryRecord, LineBatch } from '../../core/container/write/framer.js'
import { OrderedJobs, ownedBuffer, type WorkerPool } from '../../core/workers/worker-pool.js'
import { validateLines } from '../../core/workers/worker.js'

export type FileFormat = 'jsonl' | 'text' | 'binary'

export interface Rejection {
  file: string
  line: number
  reason: string
  code: 'MAIF_ERR_RECORD'
  raw: string
  /** Set when `raw` is only the start of a line too long to hold. */
  truncated?: boolean
}

const RAW_PREFIX = 64 * 1024

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
/** Where a batch ends in its input: what a durable cursor records. */
export interface Position { file: string; offset: number; line: number; last: boolean }
/**
 * A line batch with where it ends in its input (`pos`), and where each of its records ends
 * (`ends[i]`, byte offset after record i's newline; `lines[i]`, its line number).
 */
export type PositionedBatch = LineBatch & { pos: Position; ends: Float64Array; lines: Float64Array }

export async function* readLinesParallel(
  path: string, json: boolean, maxLine: number, hwm: number, pool: WorkerPool | null, stats: FileSourceStats, onReject: FileSourceOptions['onReject'],
  from: { offset: number; line: number; input?: NodeJS.ReadableStream } = { offset: 0, line: 0 },
): AsyncGenerator<PositionedBatch> {
  type Done = { res: Awaited<ReturnType<WorkerPool['run']>>; firstLine: number; start: number; end: number; endLine: number }
  const jobs = new OrderedJobs<Done>(pool ? pool.size * 2 : 2)
  let carry: Buffer | null = null
  let skipping = false // inside an over-long line: drop bytes until its newline
  let lineNo = from.line // lines handed to workers so far
  let offset = from.offset // input bytes consumed up to the last whole line
  const submit = (chunk: Buffer, consumed: number): Promise<Done> => {
    const firstLine = lineNo
    let n = 0
    for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) n++
    lineNo += n
    offset += consumed
    const end = offset
    const start = end - Math.min(consumed, chunk.length) // skipped bytes of an over-long line come before the chunk
    const endLine = lineNo
    // Text lines need no parsing: finding their ends here is cheaper than a round trip to a worker.
    if (!json || !pool) return Promise.resolve({ res: { op: 'lines' as const, ...validateLines(chunk, json, maxLine) }, firstLine, start, end, endLine })
    const own = ownedBuffer(chunk) // the chunk is moved to the worker, not copied
    return pool.run({ op: 'lines', data: own.view, validateJson: json, maxLine }, [own.buffer]).then((res) => ({ res, firstLine, start, end, endLine }))
  }
  const take = function* (done: Done, last = false): Generator<PositionedBatch> {
    const r = done.res
    if (r.op !== 'lines') throw new MaifError('MAIF_ERR_IO', 'the line worker answered the wrong request')
    stats.lines += r.lines
    stats.accepted += r.count
    for (const x of r.rejects) {
      stats.rejected++
      onReject?.({ file: path, line: done.firstLine + x.line, reason: x.reason, code: 'MAIF_ERR_RECORD', raw: x.raw })
    }
    // An empty batch still carries its position, so that a cursor can move past rejected lines.
    const ends = new Float64Array(r.count)
    const lines = new Float64Array(r.count)
    for (let i = 0; i < r.count; i++) {
      ends[i] = Math.min(done.start + r.ends[i]!, done.end) // a final line without '\n' got one added
      lines[i] = done.firstLine + r.lineNos[i]!
    }
    yield { kind: 'lines', data: Buffer.from(r.valid.buffer, r.valid.byteOffset, r.valid.byteLength), count: r.count, pos: { file: path, offset: done.end, line: done.endLine, last }, ends, lines }
  }
  // A line longer than a whole read chunk is never held: it is dead-lettered with its first bytes only.
  const tooLong = (prefix: Buffer): void => {
    lineNo++ // the over-long line is counted here, so the worker-side numbering skips it
    stats.lines++
    stats.rejected++
    onReject?.({ file: path, line: lineNo, reason: `line longer than maxLineLength (${maxLine} bytes); raw holds its first ${Math.min(prefix.length, RAW_PREFIX)} bytes`, code: 'MAIF_ERR_RECORD', raw: prefix.toString('utf8', 0, Math.min(prefix.length, RAW_PREFIX)), truncated: true })
  }
  let skipped = 0 // bytes of an over-long line dropped so far, counted into the next submitted offset
  const input = from.input ?? createReadStream(path, { highWaterMark: hwm, start: from.offset })
  for await (const chunk of input as AsyncIterable<Buffer>) {
    stats.bytes += chunk.length
    let data = chunk
    if (skipping) {
      const nl = data.indexOf(0x0a)
      if (nl === -1) { skipped += data.length; continue }
      skipping = false
      skipped += nl + 1
      data = data.subarray(nl + 1)
    }
    const last = data.lastIndexOf(0x0a)
    if (last === -1) {
      carry = carry ? Buffer.concat([carry, data]) : Buffer.from(data)
      if (carry.length > maxLine) { tooLong(carry); skipped += carry.length; carry = null; skipping = true }
      continue
    }
    const whole = carry ? Buffer.concat([carry, data.subarray(0, last + 1)]) : data.subarray(0, last + 1)
    carry = last + 1 < data.length ? Buffer.from(data.subarray(last + 1)) : null
    const done = await jobs.add(submit(whole, whole.length + skipped))
    skipped = 0
    if (done) yield* take(done)
  }
  if (carry && carry.length > 0) {
    const done = await jobs.add(submit(Buffer.concat([carry, Buffer.from('\n')]), carry.length + skipped))
    skipped = 0
    if (done) yield* take(done)
  }
  if (skipped > 0 || jobs.size === 0) {
    // Nothing left to validate, but the cursor must still learn that this input is finished.
    offset += skipped
    yield { kind: 'lines', data: Buffer.alloc(0), count: 0, pos: { file: path, offset, line: lineNo, last: jobs.size === 0 }, ends: new Float64Array(0), lines: new Float64Array(0) }
  }
  while (jobs.size > 0) {
    const done = (await jobs.drainOne())!
    yield* take(done, jobs.size === 0)
  }
}

// ---- the pipeline engine's file source -----------------------------------------------------------

export interface InputSpec { path?: string; paths?: string[] }

/** Expands files, directories (every file below) and globs, sorted, without duplicates; '-' is stdin. */
export async function expandInputs(spec: InputSpec, cwd = process.cwd()): Promise<string[]> {
  const { glob, isDynamicPattern } = await import('tinyglobby')
  const { stat } = await import('node:fs/promises')
  const { resolve } = await import('node:path')
  const out: string[] = []
  for (const p of spec.paths ?? (spec.path ? [spec.path] : [])) {
    if (p === '-') { out.push('-'); continue }
    if (isDynamicPattern(p)) { out.push(...(await glob(p, { cwd, absolute: true, onlyFiles: true })).sort()); continue }
    const abs = resolve(cwd, p)
    let st
    try {
      st = await stat(abs)
    } catch (cause) {
      throw wrapError('MAIF_ERR_IO', `input ${p} does not exist`, cause)
    }
    if (st.isDirectory()) out.push(...(await glob('**/*', { cwd: abs, absolute: true, onlyFiles: true })).sort())
    else out.push(abs)
  }
  return [...new Set(out)]
}

export type SourceItem = PositionedBatch | { kind: 'binary'; pieces: BinaryRecord[]; pos: Position }

export interface EngineSourceOptions {
  format: FileFormat
  /** Validates JSON lines on other threads; without one (text input needs none) lines are split here. */
  pool: WorkerPool | null
  maxLineLength: number
  concurrency: number
  stats: FileSourceStats
  onReject: NonNullable<FileSourceOptions['onReject']>
  /** Where each file starts (from a cursor); files marked done are skipped. */
  start?: (file: string) => { offset: number; line: number; done: boolean } | undefined
  /** Graceful stop: no new batch is read once this is aborted. */
  stop?: AbortSignal
  segmentBytes?: number
}

/** Reads many inputs, `concurrency` files at a time (p-limit), merged into one stream of positioned batches. */
export async function* engineSource(files: readonly string[], o: EngineSourceOptions): AsyncGenerator<SourceItem> {
  const { default: pLimit } = await import('p-limit')
  // A binary file arrives as consecutive pieces of one object: files are read one at a time so that
  // pieces of two objects never interleave (the framer would join them).
  const limit = pLimit(o.format === 'binary' ? 1 : o.concurrency)
  const queue: SourceItem[] = []
  // Two wake-ups: the consumer waits for an item, producers wait for room (bounded queue = backpressure).
  const w: { wake: (() => void) | null; space: Array<() => void> } = { wake: null, space: [] }
  let failed: unknown
  let finished = 0
  const cap = Math.max(4, o.concurrency * 2)
  const signal = (): void => { w.wake?.(); w.wake = null }
  const put = async (item: SourceItem): Promise<void> => {
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
      for await (const pieces of readBinary(file, o.segmentBytes ?? 4 << 20, o.stats)) {
        if (o.stop?.aborted) return
        n += pieces.reduce((a, p) => a + p.data.length, 0)
        const last = pieces.some((p) => p.last !== false)
        await put({ kind: 'binary', pieces, pos: { file, offset: n, line: 0, last } })
      }
      return
    }
    const input = file === '-' ? process.stdin : undefined
    const gen = readLinesParallel(file, o.format === 'jsonl', o.maxLineLength, 1 << 20, o.pool, o.stats, o.onReject, { offset: st?.offset ?? 0, line: st?.line ?? 0, ...(input ? { input } : {}) })
    for await (const b of gen) {
      await put(b)
      if (o.stop?.aborted) return
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
