// Clustered unit vectors for recall tests: `clusters` random centres, each point a centre plus Gaussian noise
// of relative size `spread`, normalised. Seeded, so that a failure reproduces. (Random-normal data without
// clusters is HNSW's pathological case and says nothing about real embeddings.)
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

/** `seed` fixes the centres, `points` the draws around them: queries use the data's seed and other points. */
export function clustered(n: number, dims: number, opts: { clusters?: number; spread?: number; seed?: number; points?: number } = {}): Float32Array {
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

/** Exact top-k by inner product, in plain JS (independent of the index under test). */
export function bruteTopK(data: Float32Array, dims: number, q: Float32Array, k: number): number[] {
  const n = data.length / dims
  const top: Array<[number, number]> = []
  for (let i = 0; i < n; i++) {
    let s = 0
    for (let j = 0; j < dims; j++) s += data[i * dims + j]! * q[j]!
    if (top.length < k || s > top[top.length - 1]![0]) {
      top.push([s, i])
      top.sort((a, b) => b[0] - a[0])
      if (top.length > k) top.pop()
    }
  }
  return top.map((x) => x[1])
}
