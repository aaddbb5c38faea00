// Residual int8 refuses what it cannot encode or decode faithfully, with MAIF_ERR_QUANTIZE (bad vectors,
// codes or codebooks) or MAIF_ERR_INVALID_OPTION (bad options), never a silently wrong vector.
import t from 'tap'
import {
  decodeResidualInt8, encodeResidualInt8, readResidualInt8Codebook, trainResidualInt8, writeResidualInt8Codebook, type ResidualInt8Codebook,
} from '../src/core/semantic/residual-int8.js'
import { clustered } from './helpers/clustered.js'

const D = 8
const data = clustered(100, D, { clusters: 4, seed: 2 })
const cb = trainResidualInt8(data, D, { k: 4, seed: 1, iters: 3 })
const QUANTIZE = { code: 'MAIF_ERR_QUANTIZE' }
const OPTION = { code: 'MAIF_ERR_INVALID_OPTION' }

t.test('wrong dims', async (t) => {
  t.throws(() => encodeResidualInt8(cb, new Float32Array(D + 3)), QUANTIZE, 'a partial vector')
  t.throws(() => trainResidualInt8(data, 0), QUANTIZE, 'dims 0')
  t.throws(() => trainResidualInt8(data, 7), QUANTIZE, 'a length that is not whole vectors of 7')
  t.throws(() => decodeResidualInt8(cb, new Uint8Array(D + 5)), QUANTIZE, 'codes that are not whole')
})

t.test('non-finite and out-of-range values', async (t) => {
  for (const v of [NaN, Infinity, -Infinity]) {
    const bad = Float32Array.from(data)
    bad[3 * D + 5] = v
    t.throws(() => encodeResidualInt8(cb, bad), { code: 'MAIF_ERR_QUANTIZE', message: /component 5 of vector 3/ }, `encode ${v}`)
    t.throws(() => trainResidualInt8(bad, D, { k: 4 }), QUANTIZE, `train ${v}`)
  }
  const huge = Float32Array.from(data.subarray(0, D))
  huge[0] = 1e30
  t.throws(() => encodeResidualInt8(cb, huge), QUANTIZE, 'a residual no binary16 scale carries')
  t.throws(() => trainResidualInt8(Float32Array.from(data).fill(1e6, 0, D), D, { k: 4 }), QUANTIZE, 'a component beyond binary16')
})

t.test('codes and codebooks that do not match', async (t) => {
  const codes = encodeResidualInt8(cb, data.subarray(0, 2 * D))
  const wrongId = Buffer.from(codes)
  wrongId.writeUInt16LE(4, 0)
  t.throws(() => decodeResidualInt8(cb, wrongId), { code: 'MAIF_ERR_QUANTIZE', message: /centroid 4/ })
  const nanScale = Buffer.from(codes)
  nanScale.writeUInt16LE(0x7e00, D + 4 + 2)
  t.throws(() => decodeResidualInt8(cb, nanScale), QUANTIZE, 'a NaN scale')
  const negScale = Buffer.from(codes)
  negScale.writeUInt16LE(0xbc00, 2)
  t.throws(() => decodeResidualInt8(cb, negScale), QUANTIZE, 'a negative scale')
  const bytes = writeResidualInt8Codebook(cb)
  t.throws(() => readResidualInt8Codebook(bytes.subarray(0, bytes.length - 1)), QUANTIZE, 'a truncated codebook')
  t.throws(() => readResidualInt8Codebook(Buffer.concat([Buffer.from('MRI2'), bytes.subarray(4)])), QUANTIZE, 'bad magic')
  const notHalf: ResidualInt8Codebook = { dims: D, k: 4, centroids: Float32Array.from(cb.centroids).fill(0.1, 0, 1) }
  t.throws(() => encodeResidualInt8(notHalf, data), QUANTIZE, 'a centroid that binary16 cannot hold')
  t.throws(() => encodeResidualInt8({ dims: D, k: 5, centroids: cb.centroids }, data), QUANTIZE, 'k × dims that the centroids do not fill')
  t.throws(() => encodeResidualInt8({ ...cb, dims: 4, centroids: cb.centroids.subarray(0, 16) }, data.subarray(0, 6)), QUANTIZE, 'vectors of other dims than the codebook')
})

t.test('bad options', async (t) => {
  t.throws(() => trainResidualInt8(data, D, { k: 101 }), OPTION, 'more centroids than rows')
  t.throws(() => trainResidualInt8(data, D, { k: 0 }), OPTION, 'no centroids')
  t.throws(() => trainResidualInt8(data, D, { k: 4, iters: 1.5 }), OPTION)
  t.throws(() => encodeResidualInt8(cb, data, { rounding: 'stochastic' as 'nearest' }), OPTION)
})
