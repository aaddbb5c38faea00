// Product quantisation: codes reconstruct their sub-vectors' nearest centroids, the size counts the codebooks,
// and on clustered vectors search over the codes finds most true neighbours, more with float re-ranking.
import t from 'tap'
import { encodePq, pqBytes, searchPq, trainPq } from '../src/core/semantic/pq.js'
import { bruteTopK, clustered } from './helpers/clustered.js'

t.test('pq on clustered vectors', async (t) => {
  const N = 3000
  const D = 64
  const data = clustered(N, D, { clusters: 60, spread: 0.8, seed: 9 })
  const queries = clustered(40, D, { clusters: 60, spread: 0.8, seed: 9, points: 31 })
  const cb = trainPq(data, D, { m: 16, ks: 64, iters: 8, seed: 3 })
  const codes = encodePq(cb, data)
  t.equal(codes.length, N * 16)
  t.equal(pqBytes(cb, N), N * 16 + 16 * 64 * 4 * 4, 'codes plus codebooks')
  // Each code is the nearest centroid of its sub-vector (checked by brute force on one row).
  const row = 17
  for (let s = 0; s < 16; s++) {
    let best = 0
    let bestD = Infinity
    for (let c = 0; c < 64; c++) {
      let d = 0
      for (let j = 0; j < 4; j++) d += (data[row * D + s * 4 + j]! - cb.centroids[(s * 64 + c) * 4 + j]!) ** 2
      if (d < bestD) { bestD = d; best = c }
    }
    t.equal(codes[row * 16 + s], best)
  }
  let plain = 0
  let reranked = 0
  for (let i = 0; i < 40; i++) {
    const q = queries.subarray(i * D, (i + 1) * D)
    const truth = new Set(bruteTopK(data, D, q, 10))
    for (const id of searchPq(cb, codes, q, 10)) if (truth.has(id)) plain++
    for (const id of searchPq(cb, codes, q, 10, { vectors: data, rerank: 100 })) if (truth.has(id)) reranked++
  }
  t.ok(plain / 400 >= 0.5, `codes only: recall@10 ${(plain / 400).toFixed(3)}`)
  t.ok(reranked / 400 >= 0.95, `re-ranking 100 candidates: recall@10 ${(reranked / 400).toFixed(3)}`)
  t.ok(reranked >= plain)
  t.throws(() => trainPq(data, D, { m: 7 }), { code: 'MAIF_ERR_INVALID_OPTION' })
})
