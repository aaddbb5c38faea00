// Seeded randomness for the semantic layer: the PRNG that seeds PQ's k-means, and the clustered unit vectors
// that the recall tests and the vector benches measure on (random-normal data without clusters is HNSW's
// pathological case and says nothing about real embeddings). One copy, so the tests and the benches measure
// the same data for the same seeds.

/** mulberry32: a small, fast, seeded PRNG in [0, 1). Not for anything secret. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface ClusteredOptions {
  /** Random centres (default 100). */
  clusters?: number
  /** Gaussian noise around a centre, relative to the centre's size (default 0.6). */
  spread?: number
  /** Fixes the centres (default 1). */
  seed?: number
  /** Fixes the draws around them (default seed + 1): queries use the data's seed and other points. */
  points?: number
}

/** `n` unit vectors of `dims` components, each a random centre plus Gaussian noise, normalised. */
export function clusteredVectors(n: number, dims: number, opts: ClusteredOptions = {}): Float32Array {
  let rnd = mulberry32(opts.seed ?? 1)
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd())
  const k = opts.clusters ?? 100
  const spread = opts.spread ?? 0.6
  const centres = new Float32Array(k * dims)
  for (let i = 0; i < centres.length; i++) centres[i] = gauss() / Math.sqrt(dims)
  rnd = mulberry32(opts.points ?? (opts.seed ?? 1) + 1)
  const out = new Float32Array(n * dims)
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rnd() * k)
    let norm = 0
    for (let j = 0; j < dims; j++) {
      const v = centres[c * dims + j]! + (spread * gauss()) / Math.sqrt(dims)
      out[i * dims + j] = v
      norm += v * v
    }
    const inv = 1 / Math.sqrt(norm)
    for (let j = 0; j < dims; j++) out[i * dims + j]! *= inv
  }
  return out
}
