// JSONL sinks: stdout, or a file appended to and fsynced at the end. They take line batches.
import { Writable } from 'node:stream'
import { open, type FileHandle } from 'node:fs/promises'
import { once } from 'node:events'
import { wrapError } from '../core/errors.js'
import type { LineBatch } from '../core/container/write/framer.js'

export class JsonlSink extends Writable {
  readonly #path: string | null
  #fh: FileHandle | null = null
  records = 0

  /** `path` null writes to stdout. */
  constructor(path: string | null, opts: { highWaterMark?: number } = {}) {
    super({ objectMode: true, highWaterMark: opts.highWaterMark ?? 16 })
    this.#path = path
  }

  override _write(b: LineBatch, _e: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#write(b).then(() => cb(), (err: unknown) => cb(wrapError('MAIF_ERR_IO', `writing to ${this.#path ?? 'stdout'} failed`, err)))
  }

  async #write(b: LineBatch): Promise<void> {
    if (b.data.length > 0) {
      if (this.#path === null) {
        if (!process.stdout.write(b.data)) await once(process.stdout, 'drain')
      } else {
        this.#fh ??= await open(this.#path, 'a')
        await this.#fh.write(b.data)
      }
    }
    this.records += b.count
    // Tells a fallback fan-out that these records are written (it holds them until then).
    this.emit('written', this.records)
  }

  override _final(cb: (err?: Error | null) => void): void {
    const fh = this.#fh
    if (!fh) return cb()
    // /dev/null and other character devices cannot be fsynced (EINVAL): there is nothing to make durable.
    const sync = fh.sync().catch((err: NodeJS.ErrnoException) => { if (err.code !== 'EINVAL' && err.code !== 'ENOTSUP') throw err })
    sync.then(() => fh.close()).then(() => cb(), (err: unknown) => cb(wrapError('MAIF_ERR_IO', `closing ${this.#path} failed`, err)))
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.#fh) return cb(err)
    this.#fh.close().then(() => cb(err), () => cb(err))
  }
}
