// Product quantisation (Jégou et al., 2011): a vector of d components is cut into m sub-vectors of d/m, and
// each is replaced by the index of its nearest centroid in a codebook of up to 256 trained by k-means on that
// subspace, so a vector costs m bytes plus the codebooks (m × ks × d/m float32) shared by all. Search scores
// codes by inner product with lookup tables (asymmetric distance), then may re-rank the best candidates with
// the float vectors. Used by the HSC bench; not written into containers.
import { MaifError } from '../errors.js'
import { mulberry32 as rng } from './synthetic.js'

export interface PqCodebook {
  dims: number
  /** Sub-vectors per vector. */
  m: number
  /** Centroids per subspace (≤ 256). */
  ks: number
  /** m × ks × (dims/m), row-major. */
  centroids: Float32Array
}

/** Trains the codebooks by k-means (`iters` Lloyd iterations per subspace) on the rows of `data`. */
export function trainPq(data: Float32Array, dims: number, o: { m: number; ks?: number; iters?: number; seed?: number }): PqCodebook {
  const { m } = o
  const ks = o.ks ?? 256
  const n = data.length / dims
  if (!Number.isInteger(m) || m < 1 || dims % m !== 0) throw new MaifError('MAIF_ERR_INVALID_OPTION', `pq: m (${m}) must divide dims (${dims})`)
  if (ks < 1 || ks > 256 || n < ks) throw new MaifError('MAIF_ERR_INVALID_OPTION', `pq: ks must be 1..256 and at most the training rows (${n})`)
  const ds = dims / m
  const rnd = rng(o.seed ?? 1)
  const centroids = new Float32Array(m * ks * ds)
  const assign = new Int32Array(n)
  for (let s = 0; s < m; s++) {
    const C = centroids.subarray(s * ks * ds, (s + 1) * ks * ds)
    for (let c = 0; c < ks; c++) {
      const r = Math.floor(rnd() * n)
      for (let j = 0; j < ds; j++) C[c * ds + j] = data[r * dims + s * ds + j]!
    }
    for (let it = 0; it < (o.iters ?? 10); it++) {
      for (let i = 0; i < n; i++) assign[i] = nearest(data, i * dims + s * ds, C, ks, ds)
      const sums = new Float64Array(ks * ds)
      const counts = new Int32Array(ks)
      for (let i = 0; i < n; i++) {
        const c = assign[i]!
        counts[c]!++
        for (let j = 0; j < ds; j++) sums[c * ds + j]! += data[i * dims + s * ds + j]!
      }
      for (let c = 0; c < ks; c++) {
        if (counts[c] === 0) {
          const r = Math.floor(rnd() * n) // an empty cluster restarts at a random point
          for (let j = 0; j < ds; j++) C[c * ds + j] = data[r * dims + s * ds + j]!
        } else for (let j = 0; j < ds; j++) C[c * ds + j] = sums[c * ds + j]! / counts[c]!
      }
    }
  }
  return { dims, m, ks, centroids }
}

function nearest(data: Float32Array, at: number, C: Float32Array, ks: number, ds: number): number {
  let best = 0
  let bestD = Infinity
  for (let c = 0; c < ks; c++) {
    let d = 0
    for (let j = 0; j < ds; j++) {
      const x = data[at + j]! - C[c * ds + j]!
      d += x * x
    }
    if (d < bestD) { bestD = d; best = c }
  }
  return best
}

export function encodePq(cb: PqCodebook, data: Float32Array): Uint8Array {
  const n = data.length / cb.dims
  const ds = cb.dims / cb.m
  const codes = new Uint8Array(n * cb.m)
  for (let i = 0; i < n; i++) {
    for (let s = 0; s < cb.m; s++) codes[i * cb.m + s] = nearest(data, i * cb.dims + s * ds, cb.centroids.subarray(s * cb.ks * ds, (s + 1) * cb.ks * ds), cb.ks, ds)
  }
  return codes
}

/** Bytes of n codes plus the codebooks (float32). */
export function pqBytes(cb: PqCodebook, n: number): number {
  return n * cb.m + cb.centroids.length * 4
}

/**
 * The k best rows by inner product: codes scored with lookup tables; when `vectors` is given, the best
 * `rerank` candidates are re-scored exactly with them.
 */
export function searchPq(cb: PqCodebook, codes: Uint8Array, query: Float32Array, k: number, opts: { vectors?: Float32Array; rerank?: number } = {}): number[] {
  const ds = cb.dims / cb.m
  const table = new Float32Array(cb.m * cb.ks)
  for (let s = 0; s < cb.m; s++) {
    for (let c = 0; c < cb.ks; c++) {
      let dot = 0
      for (let j = 0; j < ds; j++) dot += query[s * ds + j]! * cb.centroids[(s * cb.ks + c) * ds + j]!
      table[s * cb.ks + c] = dot
    }
  }
  const n = codes.length / cb.m
  const want = opts.vectors ? Math.max(k, opts.rerank ?? 100) : k
  const top = topK(n, want, (i) => {
    let sc = 0
    for (let s = 0; s < cb.m; s++) sc += table[s * cb.ks + codes[i * cb.m + s]!]!
    return sc
  })
  if (!opts.vectors) return top
  const v = opts.vectors
  const exact = topK(top.length, k, (r) => {
    const i = top[r]!
    let dot = 0
    for (let j = 0; j < cb.dims; j++) dot += v[i * cb.dims + j]! * query[j]!
    return dot
  })
  return exact.map((r) => top[r]!)
}

function topK(n: number, k: number, score: (i: number) => number): number[] {
  const ids: number[] = []
  const sc: number[] = []
  for (let i = 0; i < n; i++) {
    const s = score(i)
    if (ids.length === k && s <= sc[k - 1]!) continue
    let p = ids.length === k ? k - 1 : ids.length
    if (ids.length < k) { ids.push(i); sc.push(s) }
    while (p > 0 && sc[p - 1]! < s) { ids[p] = ids[p - 1]!; sc[p] = sc[p - 1]!; p-- }
    ids[p] = i
    sc[p] = s
  }
  return ids
}
