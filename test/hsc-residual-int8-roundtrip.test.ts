// Residual int8 round trip: every decoded component lies within one scale step of its value (half a step with
// rounding to nearest; the anisotropic rounding may round a component the other way, never further), the
// scale is the smallest binary16 step that carries the residual's largest component, and the codebook's bytes
// read back to the same centroids.
import t from 'tap'
import { fromHalf } from '../src/core/semantic/codecs.js'
import {
  decodeResidualInt8, encodeResidualInt8, readResidualInt8Codebook, residualInt8Bytes, residualInt8Stride, trainResidualInt8, writeResidualInt8Codebook,
} from '../src/core/semantic/residual-int8.js'
import { clustered } from './helpers/clustered.js'

const D = 96
const N = 800
const data = clustered(N, D, { clusters: 20, spread: 0.8, seed: 5 })
// Some vectors of another scale and sign mix, so the scale is not the same everywhere.
for (let i = 0; i < 50; i++) for (let j = 0; j < D; j++) data[i * D + j]! *= i % 2 === 0 ? 37 : -0.01
const cb = trainResidualInt8(data, D, { k: 32, seed: 4, iters: 5 })

for (const rounding of ['nearest', 'anisotropic'] as const) {
  t.test(`${rounding} rounding stays within its bound`, async (t) => {
    const codes = encodeResidualInt8(cb, data, { rounding })
    t.equal(codes.length, N * residualInt8Stride(D))
    const back = decodeResidualInt8(cb, codes)
    let worstRatio = 0
    let badScale = 0
    for (let i = 0; i < N; i++) {
      const c = codes.readUInt16LE(i * (D + 4))
      const s = fromHalf(codes.readUInt16LE(i * (D + 4) + 2))
      let max = 0
      for (let j = 0; j < D; j++) max = Math.max(max, Math.abs(data[i * D + j]! - cb.centroids[c * D + j]!))
      // The smallest binary16 step ≥ max / 127: within binary16's relative rounding of it, or for a
      // subnormal scale (residuals under 0.0078) within its absolute spacing, 2^-24.
      if (!(s * 127 >= max && (s <= (max / 127) * (1 + 2 ** -10) || s - max / 127 <= 2 ** -24))) badScale++
      for (let j = 0; j < D; j++) {
        const err = Math.abs(back[i * D + j]! - data[i * D + j]!)
        // float32 storage of the decoded value adds at most half an ulp of it.
        const slack = Math.abs(back[i * D + j]!) * 2 ** -24
        worstRatio = Math.max(worstRatio, (err - slack) / s)
      }
    }
    t.equal(badScale, 0, 'every scale is the smallest binary16 step that carries the residual')
    t.ok(worstRatio <= (rounding === 'nearest' ? 0.5 : 1) + 1e-9, `worst error ${worstRatio.toFixed(4)} of a step`)
  })
}

t.test('the codebook bytes read back to the same centroids, and the size counts them', async (t) => {
  const bytes = writeResidualInt8Codebook(cb)
  t.equal(bytes.length, 12 + 32 * D * 2)
  const again = readResidualInt8Codebook(bytes)
  t.equal(again.dims, D)
  t.equal(again.k, 32)
  t.same(Array.from(again.centroids), Array.from(cb.centroids))
  t.equal(residualInt8Bytes(cb, N), bytes.length + N * (D + 4))
  // Decoding with the codebook read back gives the same vectors.
  const codes = encodeResidualInt8(cb, data)
  t.same(Array.from(decodeResidualInt8(again, codes)), Array.from(decodeResidualInt8(cb, codes)))
})
