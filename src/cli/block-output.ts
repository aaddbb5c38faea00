// Where `maif cat` writes the blocks a verified checkpoint releases. Small blocks (one-record blocks of agent
// logs, a few hundred bytes each) are gathered into writes of up to 64 KiB: a write per block, each waited for,
// cost cat about a fifth of its time on one-record blocks. Every byte gathered belongs to a released block, so
// gathering changes when output appears, never what.
//
// Writes are copied and queued, up to QUEUE_BYTES, and go out one after another while the main thread opens the
// next blocks and scans the next checkpoint. Waiting for each write instead left the reader idle whenever the
// main thread was busy: into the bench's hashing reader, 1 GiB took 2.3-2.5 s that way and 1.6-1.8 s queued.
import { closeSync, constants, fstatSync, openSync, write as fdWrite } from 'node:fs'

const BATCH = 64 << 10
/**
 * Copied output that may wait for the descriptor: one of pack's 1 MiB blocks (a larger block waits alone), or 16
 * gathered writes. Deeper measured slower into the bench's reader: 1.80-1.85 s with 2 MiB, 1.88-1.94 s with 4 MiB,
 * against 1.63-1.78 s.
 */
export const QUEUE_BYTES = 1 << 20
/**
 * Blocks larger than this are not copied: each is written from the reader's memory, and waited for. A copy would
 * hold such a block twice (a 96 MiB block took cat from 2.1× to 3.06× the block in peak RSS). Pack's blocks, about
 * 1 MiB, stay below it.
 */
export const COPY_MAX = 2 << 20

/** The part of a stream handle's interface that sets its descriptor (blocking or not); not in Node's types. */
interface BlockingHandle { setBlocking?: (blocking: boolean) => number }

/**
 * Standard output as a file descriptor to write from the thread pool, when it is a pipe, a socket or a file; else
 * null (a terminal, /dev/null or another device: process.stdout then).
 *
 * Node makes a pipe or socket on stdout non-blocking: each write then goes out a buffer's worth at a time (64 KiB
 * for a pipe), with a wait on epoll between pieces, and 1 GiB of cat's output took 1.8 s of system time. A
 * blocking write from the thread pool hands the reader all of a block in one call, as zstd and cat(1) write, while
 * the main thread opens the next block.
 * - A pipe is opened again through /proc for a description of its own, in blocking mode (the flag belongs to the
 *   description, which process.stdout shares).
 * - A socket (a parent reading through child_process's 'pipe', which libuv makes with socketpair) cannot be
 *   opened again, so its description is set blocking through process.stdout's handle, and back when closed.
 *   Nothing else writes to stdout meanwhile; a Node without that handle method gets null, the stream's way.
 * - A file is written at its own offset, so that `>>` and earlier output keep their place.
 */
export function stdoutFd(): { fd: number; close: () => void } | null {
  try {
    const st = fstatSync(1)
    if (st.isFile()) return { fd: 1, close: () => undefined }
    if (st.isSocket()) {
      const handle = (process.stdout as unknown as { _handle?: BlockingHandle })._handle
      if (handle?.setBlocking?.(true) !== 0) return null
      return { fd: 1, close: () => { handle.setBlocking!(false) } }
    }
    if (!st.isFIFO()) return null
    const fd = openSync('/proc/self/fd/1', constants.O_WRONLY)
    return { fd, close: () => closeSync(fd) }
  } catch {
    return null // no /proc (another OS), or stdout closed: the stream decides
  }
}

export class BlockOutput {
  readonly #out: NodeJS.WritableStream
  /** When set, writes go to this descriptor from the thread pool instead of through `#out`. */
  #fd: number | null
  #batch: Buffer = Buffer.allocUnsafeSlow(BATCH)
  #n = 0
  /** The queued writes run one after another on this chain, in the order they were queued. */
  #chain: Promise<void> = Promise.resolve()
  /** The queued writes' completions, oldest first, and their bytes. */
  readonly #queued: Array<{ done: Promise<void>; bytes: number }> = []
  #queuedBytes = 0
  /**
   * Buffers whose writes finished, for the next gathered writes and block copies. A buffer is only made when none
   * is spare that fits, and the spares too small are dropped then, so there are never more buffers than were in
   * the queue at once, plus one.
   */
  readonly #spare = { batch: [] as Buffer[], copy: [] as Buffer[] }
  /** The first write that failed: every later write and flush fails with it, and nothing more is written. */
  #failure: { err: unknown } | null = null

  /** `fd`: a blocking descriptor for the same output as `out` (see stdoutFd), written in its place. */
  constructor(out: NodeJS.WritableStream, fd: number | null = null) {
    this.#out = out
    this.#fd = fd
  }

  /**
   * Takes a block's data, valid only until the returned promise settles: it is copied, and queued for writing
   * behind the blocks before it; the call waits only while QUEUE_BYTES are already queued. A block larger than
   * COPY_MAX is written as it is, and the call waits for that write. A write that failed earlier fails this call.
   */
  async write(data: Buffer): Promise<void> {
    this.#check()
    const small = data.length < BATCH / 2
    if (!small || this.#n + data.length > BATCH) await this.#queueBatch()
    if (small) {
      data.copy(this.#batch, this.#n)
      this.#n += data.length
      return
    }
    if (data.length > COPY_MAX) {
      const { done } = await this.#queue(data, null, 'copy')
      await done
      return this.#check()
    }
    const copy = this.#buffer('copy', data.length)
    data.copy(copy)
    await this.#queue(copy.subarray(0, data.length), copy, 'copy')
  }

  /** Queues what was gathered and waits until every queued write is done; fails with the first that failed. */
  async flush(): Promise<void> {
    await this.#queueBatch()
    await this.#chain
    this.#check()
  }

  #check(): void {
    if (this.#failure) throw this.#failure.err
  }

  async #queueBatch(): Promise<void> {
    if (this.#n === 0) return
    const batch = this.#batch
    const n = this.#n
    this.#batch = this.#buffer('batch', BATCH)
    this.#n = 0
    await this.#queue(batch.subarray(0, n), batch, 'batch')
  }

  /**
   * A buffer of at least `size` bytes, to gather into or to copy a block to. A new copy buffer has a quarter to
   * spare, so that blocks of about one size reuse each other's.
   */
  #buffer(kind: 'batch' | 'copy', size: number): Buffer {
    const spare = this.#spare[kind]
    const fits = spare.findIndex((b) => b.length >= size)
    if (fits >= 0) return spare.splice(fits, 1)[0]!
    spare.length = 0
    return Buffer.allocUnsafeSlow(kind === 'batch' ? BATCH : Math.ceil(size * 1.25 / BATCH) * BATCH)
  }

  /**
   * Queues `bytes` (a view of `owner`, which is reused once written; null: the caller's memory), after waiting for
   * room in the queue. Returns the write's completion (in an object: a promise returned by an async function
   * would be awaited with it).
   */
  async #queue(bytes: Buffer, owner: Buffer | null, kind: 'batch' | 'copy'): Promise<{ done: Promise<void> }> {
    while (this.#queued.length > 0 && this.#queuedBytes + bytes.length > QUEUE_BYTES) await this.#queued[0]!.done
    this.#check()
    const done = this.#chain = this.#chain.then(async () => {
      try {
        if (!this.#failure) await this.#write(bytes)
      } catch (err) {
        this.#failure = { err }
      }
      this.#queued.shift()
      this.#queuedBytes -= bytes.length
      if (owner) this.#spare[kind].push(owner)
    })
    this.#queued.push({ done, bytes: bytes.length })
    this.#queuedBytes += bytes.length
    return { done }
  }

  /** One write, waited for. */
  async #write(b: Buffer): Promise<void> {
    for (let at = 0; this.#fd !== null && at < b.length;) {
      try {
        at += await new Promise<number>((resolve, reject) => fdWrite(this.#fd!, b, at, b.length - at, null, (err, n) => { if (err) reject(err); else resolve(n) }))
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        // A reader that closed the pipe (`| head`) chose to stop reading: cat ends with 0, as through stdout.
        if (code === 'EPIPE') process.exit(0)
        // A descriptor that turns out non-blocking: the rest goes through the stream, which waits for room.
        if (code !== 'EAGAIN') throw err
        this.#fd = null
        b = b.subarray(at)
      }
    }
    if (this.#fd !== null) return
    return new Promise((resolve, reject) => {
      this.#out.write(b, (err) => {
        // A reader that closed the pipe (`| head`) ends the process through stdout's error handler, with 0.
        if (err && (err as NodeJS.ErrnoException).code !== 'EPIPE') reject(err)
        else resolve()
      })
    })
  }
}
