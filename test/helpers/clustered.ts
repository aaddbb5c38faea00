// Clustered unit vectors for recall tests (the generator lives in src/core/semantic/synthetic.ts, shared with
// the benches), and an exact top-k in plain JS to check the index against.
export { mulberry32, clusteredVectors as clustered } from '../../src/core/semantic/synthetic.js'

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
