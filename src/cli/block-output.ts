// Where `maif cat` writes the blocks a verified checkpoint releases. Small blocks (one-record blocks of agent
// logs, a few hundred bytes each) are gathered into writes of up to 64 KiB: a write per block, each waited for,
// cost cat about a fifth of its time on one-record blocks. Every byte gathered belongs to a released block, so
// gathering changes when output appears, never what.

const BATCH = 64 << 10

export class BlockOutput {
  readonly #out: NodeJS.WritableStream
  readonly #buf = Buffer.allocUnsafeSlow(BATCH)
  #n = 0

  constructor(out: NodeJS.WritableStream) {
    this.#out = out
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
  #write(b: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#out.write(b, (err) => {
        // A reader that closed the pipe (`| head`) ends the process through stdout's error handler, with 0.
        if (err && (err as NodeJS.ErrnoException).code !== 'EPIPE') reject(err)
        else resolve()
      })
    })
  }
}
