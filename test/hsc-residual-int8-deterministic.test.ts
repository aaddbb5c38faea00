// Residual int8 is deterministic: the same data, options and seed give the same codebook and code bytes; a
// vector's code does not depend on the other vectors encoded with it; another seed trains other centroids.
import t from 'tap'
import { encodeResidualInt8, trainResidualInt8, writeResidualInt8Codebook } from '../src/core/semantic/residual-int8.js'
import { clustered } from './helpers/clustered.js'

const D = 64
const data = clustered(600, D, { clusters: 12, spread: 0.8, seed: 21 })

t.test('same inputs, same bytes', async (t) => {
  const a = trainResidualInt8(data, D, { k: 16, seed: 9, iters: 4 })
  const b = trainResidualInt8(Float32Array.from(data), D, { k: 16, seed: 9, iters: 4 })
  t.ok(writeResidualInt8Codebook(a).equals(writeResidualInt8Codebook(b)), 'codebooks')
  t.ok(encodeResidualInt8(a, data).equals(encodeResidualInt8(b, Float32Array.from(data))), 'codes')
  const other = trainResidualInt8(data, D, { k: 16, seed: 10, iters: 4 })
  t.notOk(writeResidualInt8Codebook(other).equals(writeResidualInt8Codebook(a)), 'another seed starts from other rows')
})

t.test('a code depends only on its vector and the codebook', async (t) => {
  const cb = trainResidualInt8(data, D, { k: 16, seed: 9, iters: 4 })
  const all = encodeResidualInt8(cb, data)
  const stride = D + 4
  for (const i of [0, 17, 599]) {
    const alone = encodeResidualInt8(cb, data.subarray(i * D, (i + 1) * D))
    t.ok(alone.equals(all.subarray(i * stride, (i + 1) * stride)), `vector ${i}`)
  }
})
