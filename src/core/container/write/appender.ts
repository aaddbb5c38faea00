// Container file sink: appends framed boxes in order, fsyncs at commits (group commit), and reports each
// commit so a source can acknowledge what is durable (at-least-once).
import { Writable } from 'node:stream'
import { MaifError, wrapError } from '../../errors.js'
import type { Box, Commit } from '../blocks.js'
import type { WriterSession } from '../session.js'
import { droppedBytes } from '../../format/reclaim.js'

export type FsyncPolicy = 'commit' | 'never'

export interface ContainerSinkOptions {
  session: WriterSession
  /** 'commit' (default): fdatasync after each checkpoint+tail; 'never': leave it to the OS. */
  fsync?: FsyncPolicy
  /**
   * Awaited before the bytes of a commit (checkpoint + tail) are written: the moment for a write-ahead
   * (a source cursor records what the commit will cover, durably, before it exists).
   */
  beforeCommit?: (c: Commit) => Promise<void> | void
  highWaterMark?: number
}

export interface ContainerSinkEvents {
  commit: (c: Commit) => void
}

/**
 * Bytes of boxes taken while a write is in flight, to be written together by the next one. Node's own buffer
 * counts boxes (objectMode), which holds 16 one-record boxes of a few hundred bytes as well as 16 blocks of
 * megabytes: with small boxes every write was a round trip to the thread pool for a few KiB, and the writing
 * thread sat idle for a quarter of a one-record pack. Counting bytes batches small boxes and bounds large ones.
 */
export const QUEUE_BYTES = 64 << 10

export class ContainerSink extends Writable {
  readonly #s: WriterSession
  readonly #fsync: FsyncPolicy
  readonly #beforeCommit: ContainerSinkOptions['beforeCommit']
  #offset: number
  #last: Commit | undefined
  /** Boxes taken and not yet being written, and their bytes. */
  #queue: Box[] = []
  #queued = 0
  /** The write in flight, if any. */
  #writing: Promise<void> | null = null
  /** The callback of the box that filled the queue: called when a write drains it. */
  #held: ((err?: Error | null) => void) | null = null
  #failed: Error | null = null
  bytesWritten = 0

  constructor(opts: ContainerSinkOptions) {
    super({ objectMode: true, highWaterMark: opts.highWaterMark ?? 16 })
    if (!opts?.session) throw new MaifError('MAIF_ERR_INVALID_OPTION', 'the container sink needs a writer session')
    const fs = opts.fsync ?? 'commit'
    if (fs !== 'commit' && fs !== 'never') throw new MaifError('MAIF_ERR_INVALID_OPTION', `fsync must be 'commit' or 'never', got '${String(fs)}'`)
    this.#s = opts.session
    this.#fsync = fs
    this.#beforeCommit = opts.beforeCommit
    this.#offset = opts.session.startOffset
  }

  /** The last durable commit (tree size, records) of this session. */
  get lastCommit(): Commit | undefined {
    return this.#last
  }

  override _write(box: Box, _e: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#take([box], cb)
  }

  /** What Node buffered while a box was held: taken together, so that large boxes are still written in batches. */
  override _writev(chunks: Array<{ chunk: Box; encoding: BufferEncoding }>, cb: (err?: Error | null) => void): void {
    this.#take(chunks.map((c) => c.chunk), cb)
  }

  #take(boxes: Box[], cb: (err?: Error | null) => void): void {
    if (this.#failed) return cb(this.#failed)
    for (const box of boxes) {
      this.#queue.push(box)
      this.#queued += box?.size ?? 0
    }
    this.#pump()
    // Taken: the next box may come while this one waits for the write in flight, up to QUEUE_BYTES.
    if (this.#queued < QUEUE_BYTES || this.#writing === null) cb()
    else this.#held = cb
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#drained().then(() => this.#s.close()).then(() => cb(), (err: unknown) => cb(err instanceof MaifError ? err : wrapError('MAIF_ERR_IO', 'closing the container failed', err)))
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // Nothing more is written; the write in flight ends before the file is closed under it.
    this.#queue = []
    this.#queued = 0
    this.#held = null
    const inFlight = this.#writing ?? Promise.resolve()
    inFlight.catch(() => undefined).then(() => this.#s.close()).then(() => cb(err), () => cb(err))
  }

  /** Starts a write of everything queued, unless one is in flight (its end starts the next). */
  #pump(): void {
    if (this.#writing !== null || this.#queue.length === 0 || this.#failed) return
    const boxes = this.#queue
    this.#queue = []
    this.#queued = 0
    this.#writing = this.#writeBoxes(boxes).then(
      () => {
        this.#writing = null
        this.#pump()
        this.#release(null)
      },
      (err: unknown) => {
        this.#writing = null
        this.#failed = err as Error
        // A box already taken failed: the box held (if any) gets the error, else the stream does.
        if (this.#held) this.#release(this.#failed)
        else this.destroy(this.#failed)
      },
    )
  }

  /** Calls the held callback once the queue has room again (or with the error that stops the stream). */
  #release(err: Error | null): void {
    const cb = this.#held
    if (cb === null || (err === null && this.#queued >= QUEUE_BYTES && this.#writing !== null)) return
    this.#held = null
    cb(err)
  }

  /** Resolves when every box taken is written (and its commits made durable), or rejects with the failure. */
  async #drained(): Promise<void> {
    while (this.#writing !== null) await this.#writing
    if (this.#failed) throw this.#failed
  }

  async #writeBoxes(boxes: Box[]): Promise<void> {
    const parts: Buffer[] = []
    const commits: Commit[] = []
    for (const box of boxes) {
      if (box?.kind !== 'box') throw new MaifError('MAIF_ERR_INVALID_OPTION', 'the container sink takes boxes from a signer')
      if (box.offset !== this.#offset) throw new MaifError('MAIF_ERR_STRUCTURE', `box ${box.type} #${box.seq} belongs at offset ${box.offset} but the file is at ${this.#offset}`)
      for (const p of box.parts) parts.push(p)
      this.#offset += box.size
      if (box.commit) commits.push(box.commit)
    }
    const want = parts.reduce((n, p) => n + p.length, 0)
    if (this.#beforeCommit) for (const c of commits) await this.#beforeCommit(c)
    try {
      const { bytesWritten } = await this.#s.fh.writev(parts)
      if (bytesWritten !== want) throw new Error(`short write: ${bytesWritten} of ${want} bytes`)
      this.bytesWritten += bytesWritten
      // Written, a plaintext box's recycled memory goes back to the write path for the next blocks.
      let released = 0
      for (const box of boxes) {
        if (!box.release) continue
        box.release()
        released += box.size
      }
      // The rest is read no more: the boxes' ciphertexts are fresh memory of Node's crypto each, which V8 frees
      // only when it collects their small owners. Reported, a young collection every few MiB frees them while they
      // are young (a 1 GiB pack peaked 20 MiB higher without it, all of it dead ciphertext).
      droppedBytes(bytesWritten - released)
      if (commits.length > 0 && this.#fsync === 'commit') await this.#s.fh.datasync()
    } catch (cause) {
      throw wrapError('MAIF_ERR_IO', `writing to ${this.#s.path} failed`, cause)
    }
    for (const c of commits) {
      this.#last = c
      this.emit('commit', c)
    }
  }
}
