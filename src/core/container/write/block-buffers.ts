// Recycled memory for block data on the write path. The framer joins each block's records into one buffer, and
// the compressor hands that buffer back once the block is compressed (from a worker thread, the worker returns it
// with the result). Reusing warm buffers matters more here than the copy itself: on these VMs a fresh MiB costs
// about 4–7 ms in page faults, several times what compressing it with zstd -1 costs.

/** Buffers kept for reuse at most: enough for every block in flight between the framer and the workers. */
const KEEP = 16
/** Bytes past the minimum in every buffer allocated here. */
const SLACK = 64 << 10

export class BlockBuffers {
  readonly #free: ArrayBuffer[] = []
  readonly #min: number

  /** `min`: the smallest capacity to allocate (the framer's block size), so that most blocks fit any buffer. */
  constructor(min: number) {
    this.#min = min
  }

  /**
   * `parts` joined into a buffer the caller owns alone (its ArrayBuffer is no one else's) until it is given back.
   * The view may be shorter than its ArrayBuffer.
   */
  join(parts: readonly Uint8Array[]): Buffer {
    let total = 0
    for (const p of parts) total += p.byteLength
    const out = this.take(total)
    let at = 0
    for (const p of parts) {
      out.set(p, at)
      at += p.byteLength
    }
    return out
  }

  /** `total` bytes (uninitialised) the caller owns alone until it is given back; the ArrayBuffer may be larger. */
  take(total: number): Buffer {
    let ab: ArrayBuffer | undefined
    for (let i = this.#free.length - 1; i >= 0; i--) {
      if (this.#free[i]!.byteLength >= total) {
        ab = this.#free[i]!
        this.#free.splice(i, 1)
        break
      }
    }
    // Room past the block size: a block closes after the record that reaches its size, so text written
    // record by record (the framer) overshoots by up to one record, and still fits one buffer.
    // A block far below the block size (one-record blocks, a timer's flush) gets a buffer of its own size, not
    // recycled: a block-sized buffer per tiny block counted as a MiB of external memory each, and V8 collected
    // every few blocks ("external memory pressure"; a one-record pack spent most of its time in GC).
    if (ab === undefined && total < this.#min >>> 4) return Buffer.allocUnsafeSlow(total)
    ab ??= Buffer.allocUnsafeSlow(Math.max(total, this.#min + SLACK)).buffer as ArrayBuffer
    return Buffer.from(ab, 0, total)
  }

  /** Takes back a buffer from `join` that nothing uses any more. Outsized ones (a block of one huge record) go. */
  give(ab: ArrayBuffer): void {
    if (ab.byteLength >= this.#min && ab.byteLength <= 4 * this.#min + SLACK && this.#free.length < KEEP) this.#free.push(ab)
  }
}
