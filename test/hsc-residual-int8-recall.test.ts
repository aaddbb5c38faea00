// On clustered vectors, exact search over residual int8 codes finds more of the true top 10 than over plain
// int8 (one float32 scale per vector), because the residual's range is smaller than the vector's; and the
// anisotropic rounding leaves less error along the vector and its centroid than rounding to nearest.
import t from 'tap'
import { readVectors, vectorBytes, writeVectors } from '../src/core/semantic/codecs.js'
import { decodeResidualInt8, encodeResidualInt8, trainResidualInt8 } from '../src/core/semantic/residual-int8.js'
import { bruteTopK, clustered } from './helpers/clustered.js'

// Sized like the bench per cluster (about 100 vectors a cluster, spread 0.8), small enough for a test.
const D = 384
const N = 3000
const Q = 100
const data = clustered(N, D, { clusters: 30, spread: 0.8, seed: 3 })
const queries = clustered(Q, D, { clusters: 30, spread: 0.8, seed: 3, points: 77 })
const truth = Array.from({ length: Q }, (_, i) => new Set(bruteTopK(data, D, queries.subarray(i * D, (i + 1) * D), 10)))
const misses = (dec: Float32Array): number => {
  let m = 0
  for (let i = 0; i < Q; i++) for (const id of bruteTopK(dec, D, queries.subarray(i * D, (i + 1) * D), 10)) if (!truth[i]!.has(id)) m++
  return m
}

t.test('residual int8 beats plain int8', async (t) => {
  const buf = Buffer.alloc(vectorBytes('int8', N, D))
  writeVectors('int8', data, D, buf, 0)
  const plain = readVectors('int8', buf, 0, N, D)
  const cb = trainResidualInt8(data, D, { k: 32, seed: 7 })
  const nearest = decodeResidualInt8(cb, encodeResidualInt8(cb, data, { rounding: 'nearest' }))
  const aniso = decodeResidualInt8(cb, encodeResidualInt8(cb, data))

  const mse = (dec: Float32Array): number => dec.reduce((s, v, i) => s + (v - data[i]!) ** 2, 0) / N
  t.ok(mse(nearest) < mse(plain) / 2, `squared error per vector: residual ${mse(nearest).toExponential(2)}, plain ${mse(plain).toExponential(2)}`)

  // |x̂ · e| and |ĉ · e| over all vectors: the anisotropic rounding's target.
  const codes = encodeResidualInt8(cb, data)
  const along = (dec: Float32Array): number => {
    let sum = 0
    for (let i = 0; i < N; i++) {
      const c = codes.readUInt16LE(i * (D + 4))
      let dx = 0, dc = 0, nx = 0, nc = 0
      for (let j = 0; j < D; j++) {
        const e = dec[i * D + j]! - data[i * D + j]!
        dx += e * data[i * D + j]!
        dc += e * cb.centroids[c * D + j]!
        nx += data[i * D + j]! ** 2
        nc += cb.centroids[c * D + j]! ** 2
      }
      sum += dx * dx / nx + dc * dc / nc
    }
    return sum / N
  }
  t.ok(along(aniso) < along(nearest) / 10, `error in the plane of x and its centroid: anisotropic ${along(aniso).toExponential(2)}, nearest ${along(nearest).toExponential(2)}`)

  const [mPlain, mNearest, mAniso] = [misses(plain), misses(nearest), misses(aniso)]
  t.comment(`top-10 misses of ${Q * 10}: plain int8 ${mPlain}, residual nearest ${mNearest}, residual anisotropic ${mAniso}`)
  t.ok(mNearest < mPlain, 'residuals miss fewer true neighbours than plain int8')
  t.ok(mAniso < mPlain, 'so does the default (anisotropic) rounding')
  t.ok(mAniso <= mNearest, 'and it misses no more than rounding to nearest')
})
