// Memory for the boxes a reader holds until the checkpoint that covers them verifies: every box of an S3 object,
// and boxes under 64 KiB of a local file (larger ones are read again at their release). Every hold is released
// at once, at that checkpoint, so the same memory is handed out again afterwards: a long read touches no fresh
// pages per box (on this VM a fresh MiB costs 4–7 ms of page faults, more than decompressing it).

export class HoldArena {
  readonly #slabBytes: number
  readonly #slabs: Buffer[] = []
  #slab = 0
  #at = 0

  constructor(slabBytes = 4 << 20) {
    this.#slabBytes = slabBytes
  }

  /** A copy of `src` in the arena, valid until the next `reset`. */
  copy(src: Buffer): Buffer {
    if (src.length > this.#slabBytes) return Buffer.from(src) // a rare box above the slab size gets its own
    let s = this.#slabs[this.#slab]
    if (s !== undefined && this.#at + src.length > s.length) {
      this.#slab++
      this.#at = 0
      s = this.#slabs[this.#slab]
    }
    if (s === undefined) {
      s = Buffer.allocUnsafe(this.#slabBytes)
      this.#slabs.push(s)
    }
    const out = s.subarray(this.#at, this.#at + src.length)
    src.copy(out)
    this.#at += src.length
    return out
  }

  /** Every copy handed out so far is dead: their memory is reused from the first slab on. */
  reset(): void {
    this.#slab = 0
    this.#at = 0
  }

  /** Bytes of slabs kept (at most the hold window, rounded up to a slab). */
  get retained(): number {
    return this.#slabs.length * this.#slabBytes
  }
}
