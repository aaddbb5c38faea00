// The HNSW index (usearch, behind VectorIndex) against an exact scan in plain JS, on clustered unit vectors:
// recall@10 ≥ 0.95 with the default parameters. No timing is asserted (npm run bench measures speed).
import t from 'tap'
import { VectorIndex, exactNeighbours } from '../src/core/semantic/vector-index.js'
import { bruteTopK, clustered } from './helpers/clustered.js'

const N = 8000
const D = 96
const Q = 100
const K = 10

t.test('recall@10 on clustered vectors', async (t) => {
  const data = clustered(N, D, { clusters: 200, spread: 0.8, seed: 11 })
  const queries = clustered(Q, D, { clusters: 200, spread: 0.8, seed: 11, points: 12345 })
  for (const metric of ['cosine', 'ip'] as const) {
    const index = await VectorIndex.create({ dims: D, metric, m: 16, efConstruction: 128 })
    index.add(Array.from({ length: N }, (_, i) => i), data)
    t.equal(index.size, N)
    let hit = 0
    for (let i = 0; i < Q; i++) {
      const q = queries.subarray(i * D, (i + 1) * D)
      const truth = new Set(bruteTopK(data, D, q, K))
      const got = index.search(q, K)
      t.equal(got.ids.length, K)
      for (const id of got.ids) if (truth.has(id)) hit++
      if (i === 0) {
        const exact = bruteTopK(data, D, q, 1)[0]!
        let dot = 0
        for (let j = 0; j < D; j++) dot += data[exact * D + j]! * q[j]!
        t.ok(Math.abs(got.scores[0]! - dot) < 1e-3 || !truth.has(got.ids[0]!), `${metric}: the score is the similarity (${got.scores[0]} vs ${dot})`)
      }
    }
    const recall = hit / (Q * K)
    t.ok(recall >= 0.95, `${metric}: recall@10 ${recall.toFixed(3)} ≥ 0.95`)
  }
  // usearch's exact scan agrees with the plain JS one (it is the bench's ground truth).
  for (const i of [0, 37]) {
    const q = queries.subarray(i * D, (i + 1) * D) // a view at an offset (usearch's exactSearch alone would ignore it)
    t.strictSame((await exactNeighbours(data, D, q, K, 'ip')).ids, bruteTopK(data, D, q, K), `query ${i}`)
  }
})

t.test('the index refuses mismatched input', async (t) => {
  const index = await VectorIndex.create({ dims: 4, metric: 'l2' })
  t.strictSame(index.search(new Float32Array(4), 3), { ids: [], scores: [] }, 'an empty index finds nothing')
  t.throws(() => index.add([1, 2], new Float32Array(4)), { code: 'MAIF_ERR_SEARCH' })
  index.add([7, 9], Float32Array.of(0, 0, 0, 0, 1, 1, 1, 1))
  t.throws(() => index.search(new Float32Array(3), 1), { code: 'MAIF_ERR_SEARCH' })
  const r = index.search(Float32Array.of(1, 1, 1, 0.5), 2)
  t.strictSame(r.ids, [9, 7], 'nearest first under L2')
  t.ok(Math.abs(r.scores[0]! + 0.25) < 1e-6, 'the L2 score is minus the squared distance')
})
