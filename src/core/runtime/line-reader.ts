// The line reader shared by every byte-stream source: files, stdin, and later S3 objects.
import { open } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { MaifError } from '../errors.js'
import { OrderedJobs, ownedBuffer, type WorkerPool } from '../workers/worker-pool.js'
import { validateLines } from '../workers/worker.js'
import { RecordPositions } from './record-positions.js'

const RAW_PREFIX = 64 * 1024
/** Free bytes in front of each chunk read from a file, where the previous chunk's partial last line is joined. */
const RESERVE = 64 * 1024

/** Backing buffers made by fileChunks: each is yielded once, so its bytes in front of the chunk are free. */
const ours = new WeakSet<ArrayBufferLike>()
/** Backing buffers handed back by a batch's consumer (releaseData) that a reader keeps for its next reads. */
const SPARE_BUFFERS = 4

/**
 * A file from `start`, in chunks of up to `hwm` bytes, each in a buffer of its own with RESERVE free bytes
 * in front. Joining a partial line onto the next chunk then writes only the line into that room, instead of
 * copying the whole chunk (fresh memory costs more than the copy itself here: about 4–7 ms per MiB in page
 * faults on the 2-vCPU VMs), and the joined chunk still moves to a worker without a copy.
 * A buffer is taken from `spare` (buffers of RESERVE + hwm bytes their last reader is done with) before a new
 * one is allocated.
 */
export async function* fileChunks(path: string, start: number, hwm: number, spare: ArrayBuffer[] = []): AsyncGenerator<Buffer> {
  const fh = await open(path, 'r')
  const readAt = (pos: number): Promise<{ backing: Buffer; bytesRead: number }> => {
    const reused = spare.pop()
    // (a buffer moved to another thread since is detached: its length is then 0, and a new one is made)
    const backing = reused?.byteLength === RESERVE + hwm ? Buffer.from(reused) : Buffer.allocUnsafeSlow(RESERVE + hwm)
    return fh.read(backing, RESERVE, hwm, pos).then(({ bytesRead }) => ({ backing, bytesRead }))
  }
  // One read ahead: the next chunk is read on the thread pool while the consumer works on this one (without
  // it, the engine's main thread sat idle for 40% of a plain file-to-file run, waiting for each read in turn).
  let ahead: Promise<{ backing: Buffer; bytesRead: number }> | null = readAt(start)
  try {
    for (let pos = start; ;) {
      const { backing, bytesRead } = await ahead
      ahead = null
      if (bytesRead === 0) return
      pos += bytesRead
      ahead = readAt(pos)
      ours.add(backing.buffer)
      yield backing.subarray(RESERVE, RESERVE + bytesRead)
    }
  } finally {
    // A read still in flight finishes (or fails, unobserved) before the file is closed under it.
    if (ahead) await ahead.catch(() => undefined)
    await fh.close()
  }
}

/** `carry` followed by `data`, written into the room in front of `data` when it has some (see fileChunks). */
function join(carry: Buffer, data: Buffer): Buffer {
  if (ours.has(data.buffer) && data.byteOffset >= carry.length) {
    const whole = Buffer.from(data.buffer, data.byteOffset - carry.length, carry.length + data.length)
    carry.copy(whole, 0)
    return whole
  }
  return Buffer.concat([carry, data])
}

/** Where a batch ends in its input: what a durable cursor records. */
export interface Position { file: string; offset: number; line: number; last: boolean }
/**
 * Line records with where the batch ends in its input (`pos`), and where each of its records ends and its line
 * number (`records`). `releaseData`, when set, hands `data`'s memory back for the next reads (see
 * LinesBatch.releaseData).
 */
export interface PositionedLines { data: Buffer; count: number; pos: Position; records: RecordPositions; releaseData?: () => void }

export interface LineStats { lines: number; accepted: number; rejected: number; bytes: number }

/** A line the reader refused, with where it was. */
export interface Rejection {
  file: string
  line: number
  reason: string
  code: 'MAIF_ERR_RECORD'
  /** The line's exact bytes (without its newline). */
  raw: Buffer
  /** Set when `raw` is only the start of a line too long to hold. */
  truncated?: boolean
}

/**
 * Reads a byte stream as lines, in bounded memory: whole-line chunks (~1 MiB) are validated (JSON) on worker
 * threads and come back, in order, as batches with the bad lines taken out and reported with their line
 * numbers. A line longer than `maxLine` becomes a rejection holding its first 64 KiB. Any source that reads
 * bytes (files, stdin, objects) uses it.
 */

export async function* readLines(
  path: string, json: boolean, maxLine: number, hwm: number, pool: WorkerPool | null, stats: LineStats, onReject: ((r: Rejection) => void) | undefined,
  from: { offset: number; line: number; input?: NodeJS.ReadableStream; stop?: AbortSignal; positions?: boolean } = { offset: 0, line: 0 },
): AsyncGenerator<PositionedLines> {
  // A chunk of whole lines on its way through a worker, or an over-long line dropped between two chunks. Both go
  // through one ordered window, and lines are numbered as they come out of it: the workers count them, so the
  // main thread never scans a chunk for its newlines (it did, at 330 ns a line), and rejections come out in
  // line order.
  type Done =
    | { kind: 'lines'; res: Awaited<ReturnType<WorkerPool['run']>>; start: number; end: number }
    | { kind: 'long'; raw: Buffer }
  // One chunk per worker: the workers take jobs in order from one queue, and validating a chunk takes less time
  // than compressing it (in a 1 GiB pack, 1.0 s against 1.4 s per worker). Two per worker queued validations
  // ahead of the compressor's blocks, and the pack held about 10 MiB more at no gain in speed.
  const jobs = new OrderedJobs<Done>(pool ? pool.size : 2)
  let carry: Buffer | null = null
  let skipping = false // inside an over-long line: drop bytes until its newline
  let lineNo = from.line // lines taken out of the window so far
  let offset = from.offset // input bytes submitted so far, up to the last whole line
  const positions = from.positions ?? true // where each record ends, for a cursor to resume from
  const submit = (chunk: Buffer, consumed: number): Promise<Done> => {
    offset += consumed
    const end = offset
    const start = end - Math.min(consumed, chunk.length) // skipped bytes of an over-long line come before the chunk
    // Text lines need no parsing: finding their ends here is cheaper than a round trip to a worker.
    if (!json || !pool) return Promise.resolve({ kind: 'lines' as const, res: { op: 'lines' as const, ...validateLines(chunk, json, maxLine, positions) }, start, end })
    // The chunk is moved to the worker, not copied. A fileChunks buffer moves whole: its bytes outside the
    // chunk are the free room in front and a tail already copied into `carry`, which nothing else reads.
    const own = ours.has(chunk.buffer) ? { view: chunk, buffer: chunk.buffer as ArrayBuffer } : ownedBuffer(chunk)
    return pool.run({ op: 'lines', data: own.view, validateJson: json, maxLine, positions }, [own.buffer]).then((res) => ({ kind: 'lines' as const, res, start, end }))
  }
  /** Takes one result out of the window, in input order; yields a batch for a chunk of lines. */
  const take = function* (done: Done, last = false): Generator<PositionedLines> {
    if (done.kind === 'long') {
      // A line longer than a whole read chunk is never held: it is dead-lettered with its first bytes only.
      lineNo++
      stats.lines++
      stats.rejected++
      onReject?.({ file: path, line: lineNo, reason: `line longer than maxLineLength (${maxLine} bytes); raw holds its first ${done.raw.length} bytes`, code: 'MAIF_ERR_RECORD', raw: done.raw, truncated: true })
      return
    }
    const r = done.res
    if (r.op !== 'lines') throw new MaifError('MAIF_ERR_IO', 'the line worker answered the wrong request')
    const firstLine = lineNo
    lineNo += r.lines
    stats.lines += r.lines
    stats.accepted += r.count
    for (const x of r.rejects) {
      stats.rejected++
      onReject?.({ file: path, line: firstLine + x.line, reason: x.reason, code: 'MAIF_ERR_RECORD', raw: Buffer.from(x.raw.buffer, x.raw.byteOffset, x.raw.byteLength) })
    }
    // An empty batch still carries its position, so that a cursor can move past rejected lines.
    const records = new RecordPositions(done.start, done.end, r.ends ?? r.count, firstLine, r.lineNos)
    const data = Buffer.from(r.valid.buffer, r.valid.byteOffset, r.valid.byteLength)
    yield { data, count: r.count, pos: { file: path, offset: done.end, line: lineNo, last }, records, ...reusable(data, r.rejects.length) }
  }
  /**
   * A batch's memory can come back to this reader when it is a whole read buffer that only this batch holds:
   * read here from the file (not a stream handed in), with no line taken out (a worker then answers with the
   * buffer it was sent, or the chunk itself when validated here), and of a read buffer's exact size. Reusing it
   * spares the page faults of fresh memory, and the collections that V8 runs when fresh external memory piles up
   * (a 1 GiB pack spent a fifth of its main thread in them).
   */
  const reusable = (data: Buffer, rejected: number): { releaseData?: () => void } => {
    const ab = data.buffer
    if (from.input || rejected > 0 || !(ab instanceof ArrayBuffer) || ab.byteLength !== RESERVE + hwm) return {}
    let released = false // a second call must not hand back memory that is read into again by then
    return { releaseData: () => { if (!released && spare.length < SPARE_BUFFERS) spare.push(ab); released = true } }
  }
  const spare: ArrayBuffer[] = []
  /** An over-long line's first bytes, copied now: the buffer they are in is dropped. */
  const tooLong = (prefix: Buffer): Promise<Done> => Promise.resolve({ kind: 'long' as const, raw: Buffer.from(prefix.subarray(0, Math.min(prefix.length, RAW_PREFIX))) })
  let skipped = 0 // bytes of an over-long line dropped so far, counted into the next submitted offset
  const input = from.input ?? fileChunks(path, from.offset, hwm, spare)
  // Only a stream handed in (stdin) can sit idle for ever; a file is read to where the source stops taking.
  const source = from.stop && from.input ? untilStopped(input as Readable, from.stop) : (input as AsyncIterable<Buffer>)
  // A stream handed in (stdin, a socket) may go quiet for a long time: what was read is handed on as soon as it
  // is validated, not when the next chunk arrives, so that records become durable within the block interval.
  const live = from.input !== undefined
  const it = source[Symbol.asyncIterator]()
  try {
    let pending: Promise<IteratorResult<Buffer>> | null = null
    try {
      for (;;) {
        pending ??= it.next()
        const head = live ? jobs.peek() : undefined
        if (head && (await Promise.race([pending.then(() => false, () => false), head.then(() => true, () => true)]))) {
          yield* take((await jobs.drainOne())!)
          continue
        }
        const next = await pending
        pending = null
        if (next.done) break
        const chunk = next.value
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
          if (carry.length > maxLine) {
            const long = tooLong(carry)
            skipped += carry.length
            carry = null
            skipping = true
            const done = await jobs.add(long)
            if (done) yield* take(done)
          }
          continue
        }
        const whole = carry ? join(carry, data.subarray(0, last + 1)) : data.subarray(0, last + 1)
        carry = last + 1 < data.length ? Buffer.from(data.subarray(last + 1)) : null
        const done = await jobs.add(submit(whole, whole.length + skipped))
        skipped = 0
        if (done) yield* take(done)
      }
    } catch (err) {
      if (!from.stop?.aborted) throw err
    }
    if (carry && carry.length > 0) {
      const done = await jobs.add(submit(Buffer.concat([carry, Buffer.from('\n')]), carry.length + skipped))
      skipped = 0
      if (done) yield* take(done)
    }
    // The last batch taken carries `last`, unless the input ended inside an over-long line (its bytes are in no
    // batch) or the window ends with one: then an empty batch after everything else says the input is finished.
    // It comes last, so positions only move forward: a cursor never passes records still in the window.
    let ended = false
    while (jobs.size > 0) {
      const done = (await jobs.drainOne())!
      ended = jobs.size === 0 && skipped === 0 && done.kind === 'lines'
      yield* take(done, ended)
    }
    if (!ended) {
      offset += skipped
      yield { data: Buffer.alloc(0), count: 0, pos: { file: path, offset, line: lineNo, last: true }, records: RecordPositions.none }
    }
  } finally {
    // A consumer that stops early closes the file (a stream handed in belongs to the caller).
    if (!from.input) await it.return?.(undefined)
  }
}


/**
 * The chunks of `input` until it ends or `stop` is aborted. A stop interrupts a pending read (an idle stdin
 * never holds a SIGTERM back), but every chunk already buffered is still handed on, so nothing taken from
 * the input is lost; then the input is released.
 */
export async function* untilStopped(input: Readable, stop: AbortSignal): AsyncGenerator<Buffer> {
  let ended = false
  let failed: Error | undefined
  let wake: (() => void) | undefined
  const onReadable = (): void => { wake?.() }
  const onEnd = (): void => { ended = true; wake?.() }
  const onError = (err: Error): void => { failed = err; wake?.() }
  input.on('readable', onReadable)
  input.on('end', onEnd)
  input.on('error', onError)
  stop.addEventListener('abort', onReadable)
  try {
    for (;;) {
      let chunk: Buffer | null
      while ((chunk = input.read() as Buffer | null) !== null) yield chunk
      if (failed) throw failed
      if (ended || input.readableEnded || stop.aborted) return
      await new Promise<void>((resolve) => { wake = resolve })
      wake = undefined
    }
  } finally {
    input.off('readable', onReadable)
    input.off('end', onEnd)
    input.off('error', onError)
    stop.removeEventListener('abort', onReadable)
    if (stop.aborted && !ended) input.destroy()
  }
}
