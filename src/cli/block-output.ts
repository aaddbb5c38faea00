// Where `maif cat` writes the blocks a verified checkpoint releases. Small blocks (one-record blocks of agent
// logs, a few hundred bytes each) are gathered into writes of up to 64 KiB: a write per block, each waited for,
// cost cat about a fifth of its time on one-record blocks. Every byte gathered belongs to a released block, so
// gathering changes when output appears, never what.
import { closeSync, constants, fstatSync, openSync, write as fdWrite } from 'node:fs'

const BATCH = 64 << 10

/**
 * Standard output as a file descriptor to write from the thread pool, when it is a pipe or a file; else null
 * (a terminal, a socket: process.stdout then).
 *
 * Node makes a pipe on stdout non-blocking: each write then goes out 64 KiB at a time (the pipe's size), with a
 * wait on epoll between pieces, and 1 GiB of cat's output took 1.8 s of system time. A blocking write from the
 * thread pool hands the reader all of a block in one call, as zstd and cat(1) write, while the main thread opens
 * the next block. The pipe is opened again through /proc for a description of its own, in blocking mode (the flag
 * belongs to the description, which process.stdout shares). A file is written at its own offset, so that
 * `>>` and earlier output keep their place.
 */
export function stdoutFd(): { fd: number; close: () => void } | null {
  try {
    const st = fstatSync(1)
    if (st.isFile()) return { fd: 1, close: () => undefined }
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
  readonly #buf = Buffer.allocUnsafeSlow(BATCH)
  #n = 0

  /** `fd`: a blocking descriptor for the same output as `out` (see stdoutFd), written in its place. */
  constructor(out: NodeJS.WritableStream, fd: number | null = null) {
    this.#out = out
    this.#fd = fd
  }

  /** Takes a block's data, valid only until the returned promise settles: copied when small, else written. */
  async write(data: Buffer): Promise<void> {
    const small = data.length < BATCH / 2
    if (!small || this.#n + data.length > BATCH) await this.flush()
    if (!small) return this.#write(data)
    data.copy(this.#buf, this.#n)
    this.#n += data.length
  }

  /** Writes what was gathered and waits until the stream took it. */
  async flush(): Promise<void> {
    if (this.#n === 0) return
    const n = this.#n
    this.#n = 0
    await this.#write(this.#buf.subarray(0, n))
  }

  /** One write, waited for: the buffer is reused (or the block's memory reopened) once it settles. */
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
