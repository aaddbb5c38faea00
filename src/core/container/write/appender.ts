// Container file sink: appends framed boxes in order, fsyncs at commits (group commit), and reports each
// commit so a source can acknowledge what is durable (at-least-once).
import { Writable } from 'node:stream'
import { MaifError, wrapError } from '../../errors.js'
import type { Box, Commit } from '../blocks.js'
import type { WriterSession } from '../session.js'

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

export class ContainerSink extends Writable {
  readonly #s: WriterSession
  readonly #fsync: FsyncPolicy
  readonly #beforeCommit: ContainerSinkOptions['beforeCommit']
  #offset: number
  #last: Commit | undefined
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
    this.#writeBoxes([box]).then(() => cb(), (err: unknown) => cb(err as Error))
  }

  override _writev(chunks: Array<{ chunk: Box; encoding: BufferEncoding }>, cb: (err?: Error | null) => void): void {
    this.#writeBoxes(chunks.map((c) => c.chunk)).then(() => cb(), (err: unknown) => cb(err as Error))
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#s.close().then(() => cb(), (err: unknown) => cb(wrapError('MAIF_ERR_IO', 'closing the container failed', err)))
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#s.close().then(() => cb(err), () => cb(err))
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
