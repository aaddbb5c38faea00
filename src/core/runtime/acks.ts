// End-to-end acknowledgements. Every source batch (its token) is registered with the envelopes that came of
// it and the outputs they went to; an output reports the records it has made durable (cumulative, in its
// input order). A token is acknowledged once all its envelopes are durable in all their outputs, in source
// order; of the first token that is not, the leading records durable everywhere are reported as partial.
import type { AckProgress, AckToken, Batch } from './types.js'

interface Pair {
  out: number
  /** The output's cumulative record count at the end of this envelope. */
  end: number
  count: number
  origin: Uint32Array | undefined
  /** Kept only where a fallback may have to replay it into another output. */
  batch: Batch | undefined
}

interface Entry { token: AckToken; pairs: Pair[] }

export class AckTracker {
  readonly #entries: Entry[] = []
  readonly #sent: number[]
  readonly #committed: number[]
  readonly #keep: boolean

  /** `keep`: hold each envelope until it is durable, so that it can be replayed (fallback outputs). */
  constructor(outputs: number, keep = false) {
    this.#sent = new Array<number>(outputs).fill(0)
    this.#committed = new Array<number>(outputs).fill(0)
    this.#keep = keep
  }

  /** Records a token with its envelopes, each sent to `outputs`. */
  register(token: AckToken, envelopes: readonly Batch[], outputs: readonly number[]): void {
    const pairs: Pair[] = []
    for (const env of envelopes) {
      for (const out of outputs) {
        this.#sent[out]! += env.count
        pairs.push({ out, end: this.#sent[out]!, count: env.count, origin: env.origin, batch: this.#keep ? env : undefined })
      }
    }
    this.#entries.push({ token, pairs })
  }

  committedOf(out: number): number {
    return this.#committed[out]!
  }

  /** What would be acknowledged once `out` has made `records` durable (nothing is consumed). */
  ifCommitted(out: number, records: number): AckProgress {
    const counts = [...this.#committed]
    counts[out] = Math.max(counts[out]!, records)
    return this.#progress(counts, false)
  }

  /** `out` has made `records` durable: returns (and forgets) what is newly acknowledged. */
  committed(out: number, records: number): AckProgress {
    this.#committed[out] = Math.max(this.#committed[out]!, records)
    return this.#progress(this.#committed, true)
  }

  /** Moves what `from` holds but has not made durable to `to`; returns the envelopes to replay, in order. */
  reassign(from: number, to: number): Batch[] {
    const replay: Batch[] = []
    const done = this.#committed[from]!
    for (const e of this.#entries) {
      for (const p of e.pairs) {
        if (p.out !== from || p.end <= done) continue
        this.#sent[to]! += p.count
        p.out = to
        p.end = this.#sent[to]!
        if (p.batch) replay.push(p.batch)
      }
    }
    return replay
  }

  /** Tokens not yet acknowledged. */
  get pending(): number {
    return this.#entries.length
  }

  #progress(counts: readonly number[], consume: boolean): AckProgress {
    const done: AckToken[] = []
    let partial: AckProgress['partial']
    let i = 0
    for (; i < this.#entries.length; i++) {
      const e = this.#entries[i]!
      let first = Infinity // the first source record of this token not yet durable everywhere
      for (const p of e.pairs) {
        const k = Math.min(Math.max(counts[p.out]! - (p.end - p.count), 0), p.count)
        if (k === p.count) continue
        first = Math.min(first, p.origin ? p.origin[k]! : k)
      }
      if (first === Infinity) { done.push(e.token); continue }
      if (first > 0) partial = { token: e.token, records: first }
      break
    }
    if (consume) this.#entries.splice(0, i)
    return partial ? { done, partial } : { done }
  }
}
