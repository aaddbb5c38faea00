// The default local embedder: signed feature hashing ("the hashing trick") of word n-grams and character
// n-grams into a fixed number of dimensions, L2-normalised. It needs no model and no network, is
// deterministic across machines and versions (the hash is fixed here, never Node's), and gives real lexical
// similarity: texts that share words, word pairs or word fragments (stems, typos, inflections) get a high
// cosine. It knows nothing of meaning beyond that (synonyms score 0); a learned model does that.
import { MaifError } from '../errors.js'
import type { Embedder } from './embedder.js'

export interface HashingOptions {
  /** Dimensions (default 384). */
  dims?: number
  /** Word n-grams from 1 to this (default 2: words and word pairs). */
  wordNgrams?: number
  /** Character n-gram lengths inside each word, [min, max] (default [3, 5]); [0, 0] turns them off. */
  charNgrams?: readonly [number, number]
}

const ID_RE = /^maif-hashing-v1:d=(\d+),w=(\d+),c=(\d+)-(\d+)$/
const WORD_RE = /[\p{L}\p{N}]+/gu

/** Parses an id written by HashingEmbedder back into its options, or null for another model. */
export function parseHashingId(id: string): Required<HashingOptions> | null {
  const m = ID_RE.exec(id)
  if (!m) return null
  return { dims: Number(m[1]), wordNgrams: Number(m[2]), charNgrams: [Number(m[3]), Number(m[4])] }
}

/** FNV-1a over UTF-16 code units with a seed, then the murmur3 finaliser to spread the bits. */
function hash(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

export class HashingEmbedder implements Embedder {
  readonly id: string
  readonly dims: number
  readonly normalized = true
  readonly #words: number
  readonly #cmin: number
  readonly #cmax: number

  constructor(o: HashingOptions = {}) {
    this.dims = o.dims ?? 384
    this.#words = o.wordNgrams ?? 2
    ;[this.#cmin, this.#cmax] = o.charNgrams ?? [3, 5]
    const bad = (m: string): never => { throw new MaifError('MAIF_ERR_INVALID_OPTION', `hashing embedder: ${m}`) }
    if (!Number.isInteger(this.dims) || this.dims < 2 || this.dims > 65536) bad(`dims must be an integer from 2 to 65536, got ${this.dims}`)
    if (!Number.isInteger(this.#words) || this.#words < 0 || this.#words > 4) bad(`wordNgrams must be from 0 to 4, got ${this.#words}`)
    const charsOff = this.#cmin === 0 && this.#cmax === 0
    if (!charsOff && (!Number.isInteger(this.#cmin) || !Number.isInteger(this.#cmax) || this.#cmin < 1 || this.#cmax < this.#cmin || this.#cmax > 8)) bad(`charNgrams must be [min, max] with 1 ≤ min ≤ max ≤ 8, or [0, 0], got [${this.#cmin}, ${this.#cmax}]`)
    if (this.#words === 0 && charsOff) bad('wordNgrams 0 and charNgrams [0, 0] leave no features')
    this.id = `maif-hashing-v1:d=${this.dims},w=${this.#words},c=${this.#cmin}-${this.#cmax}`
  }

  embed(texts: readonly string[]): Promise<Float32Array> {
    const out = new Float32Array(texts.length * this.dims)
    for (let i = 0; i < texts.length; i++) this.embedInto(texts[i]!, out.subarray(i * this.dims, (i + 1) * this.dims))
    return Promise.resolve(out)
  }

  /** Embeds one text into `row` (dims values, zeroed first); returns false when the text has no features. */
  embedInto(text: string, row: Float32Array): boolean {
    row.fill(0)
    const words = text.normalize('NFKC').toLowerCase().match(WORD_RE) ?? []
    if (words.length === 0) return false
    // Each feature adds ±weight at a hashed position; the sign comes from another bit of the same hash, so
    // collisions cancel out on average instead of adding up (Weinberger et al., 2009).
    const add = (feature: string, seed: number, w: number): void => {
      const h = hash(feature, seed)
      row[h % this.dims]! += (h & 0x80000000) === 0 ? w : -w
    }
    for (let n = 1; n <= this.#words; n++) {
      for (let i = 0; i + n <= words.length; i++) add(n === 1 ? words[i]! : words.slice(i, i + n).join(' '), n, 1)
    }
    if (this.#cmax > 0) {
      for (const word of words) {
        // Character n-grams of the word with boundary marks; together they weigh about as much as one word.
        const padded = `<${word}>`
        let count = 0
        for (let n = this.#cmin; n <= this.#cmax; n++) count += Math.max(padded.length - n + 1, 0)
        if (count === 0) continue
        const w = 1 / Math.sqrt(count)
        for (let n = this.#cmin; n <= this.#cmax; n++) {
          for (let i = 0; i + n <= padded.length; i++) add(padded.slice(i, i + n), 16 + n, w)
        }
      }
    }
    let norm = 0
    for (let j = 0; j < row.length; j++) norm += row[j]! * row[j]!
    if (norm === 0) return false
    const inv = 1 / Math.sqrt(norm)
    for (let j = 0; j < row.length; j++) row[j]! *= inv
    return true
  }
}
