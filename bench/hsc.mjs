// HSC, measured honestly: embedding compression ratios counted with everything a reader needs (per-vector
// scales, PQ codebooks), and the recall@10 of search over the compressed vectors against exact float32 search,
// on clustered unit vectors, all in the same run. A row that re-ranks its candidates with the float32 vectors
// says so: its ratio is that of what the search scans (in memory), while the float32 vectors stay wherever they
// are kept (the EMBD blocks of a float32 container); the compressed form alone does not give that recall.
// The residual int8 rows (src/core/semantic/residual-int8.ts) count their binary16 centroid table and, per
// vector, the centroid id and scale: their ratio is below int8's at small n and approaches it as n grows.
// --seed picks other clustered data and queries (seed 1 is the default data).
//
//   npm run build && node bench/hsc.mjs [--vectors 20000] [--dims 384] [--m 24] [--ks 256] [--train 5000]
//                                        [--rerank 100] [--rerank-int8 30] [--centroids N/80] [--seed 1]
//                                        [--quick] [--json] [--no-save]
import { performance } from 'node:perf_hooks'
import { saveResult } from './save-result.mjs'
import {
  exactNeighbours, writeVectors, readVectors, vectorBytes, trainPq, encodePq, searchPq, pqBytes, clusteredVectors,
  trainResidualInt8, encodeResidualInt8, decodeResidualInt8, residualInt8Bytes,
} from '../dist/index.js'

const args = process.argv.slice(2)
const opt = (name, def) => { const i = args.indexOf(`--${name}`); return i === -1 ? def : Number(args[i + 1]) }
const QUICK = args.includes('--quick')
const N = opt('vectors', QUICK ? 5000 : 20000), D = opt('dims', 384), M = opt('m', 24), KS = opt('ks', 256), TRAIN = opt('train', 5000)
const Q = opt('queries', 100), K = 10, C = Math.max(10, Math.round(N / 100)), RERANK = opt('rerank', 100), RERANK8 = opt('rerank-int8', 30)
// Centroids: a power of two near N/80, from 16 to 256, so the binary16 table stays near 2.5 % of the codes
// at small N (256 at 20k, 64 for --quick's 5k) and training stays within the bench's minute at 100k.
const KC = opt('centroids', Math.min(256, Math.max(16, 2 ** Math.round(Math.log2(N / 80))))), SEED = opt('seed', 1)

// The vector-search bench's data: N/100 clusters, spread 0.8 (seed 1: centres 1, points 2, queries 3).
const clustered = (n, seed, points) => clusteredVectors(n, D, { clusters: C, spread: 0.8, seed, points })
const data = clustered(N, SEED, 2 * SEED), queries = clustered(Q, SEED, 2 * SEED + 1)
const raw = N * D * 4
const truth = []
for (let i = 0; i < Q; i++) truth.push(new Set((await exactNeighbours(data, D, queries.subarray(i * D, (i + 1) * D), K, 'ip')).ids))
const recallOf = async (search) => { let hit = 0; for (let i = 0; i < Q; i++) for (const id of await search(queries.subarray(i * D, (i + 1) * D))) if (truth[i].has(id)) hit++; return hit / (Q * K) }

/** The best k of `ids` by their float32 inner product with q. */
function rerank(ids, q, k) {
  return ids.map((id) => { let s = 0; for (let j = 0; j < D; j++) s += data[id * D + j] * q[j]; return [id, s] }).sort((a, b) => b[1] - a[1]).slice(0, k).map((x) => x[0])
}

const rows = []
for (const dtype of ['float16', 'int8']) {
  const buf = Buffer.alloc(vectorBytes(dtype, N, D)); writeVectors(dtype, data, D, buf, 0)
  const dec = readVectors(dtype, buf, 0, N, D)
  rows.push({ codec: dtype, bytes: buf.length, ratio: raw / buf.length, recallAt10: await recallOf(async (q) => (await exactNeighbours(dec, D, q, K, 'ip')).ids), needsFloat32: false, int8Only: dtype === 'int8' })
  if (dtype === 'int8') {
    rows.push({
      codec: `int8 + float re-rank of ${RERANK8}`, bytes: buf.length, ratio: raw / buf.length, needsFloat32: true,
      recallAt10: await recallOf(async (q) => rerank((await exactNeighbours(dec, D, q, RERANK8, 'ip')).ids, q, K)),
    })
  }
}
// Residual int8: k-means centroids (binary16) + int8 residuals, with nearest and with anisotropic rounding.
let t0 = performance.now()
const rcb = trainResidualInt8(data, D, { k: KC, seed: 7 })
const rTrainS = (performance.now() - t0) / 1000
for (const rounding of ['nearest', 'anisotropic']) {
  t0 = performance.now()
  const rcodes = encodeResidualInt8(rcb, data, { rounding })
  const encodeS = (performance.now() - t0) / 1000
  const dec = decodeResidualInt8(rcb, rcodes)
  const bytes = residualInt8Bytes(rcb, N)
  rows.push({
    codec: `int8 residual k=${KC}, ${rounding} rounding`, bytes, ratio: raw / bytes, centroidBytes: bytes - rcodes.length,
    recallAt10: await recallOf(async (q) => (await exactNeighbours(dec, D, q, K, 'ip')).ids), trainS: rTrainS, trainRows: Math.min(5000, N), encodeS, needsFloat32: false, int8Only: true,
  })
}

t0 = performance.now()
const cb = trainPq(data.subarray(0, Math.min(TRAIN, N) * D), D, { m: M, ks: KS, iters: 6, seed: 7 })
const trainS = (performance.now() - t0) / 1000
t0 = performance.now()
const codes = encodePq(cb, data)
const encodeS = (performance.now() - t0) / 1000
const bytes = pqBytes(cb, N)
rows.push({ codec: `pq m=${M} ks=${KS} (codes only)`, bytes, ratio: raw / bytes, recallAt10: await recallOf((q) => searchPq(cb, codes, q, K)), trainS, trainRows: Math.min(TRAIN, N), encodeS, needsFloat32: false })
rows.push({ codec: `pq m=${M} ks=${KS} + float re-rank of ${RERANK}`, bytes, ratio: raw / bytes, recallAt10: await recallOf((q) => searchPq(cb, codes, q, K, { vectors: data, rerank: RERANK })), needsFloat32: true })

// The issue's targets, and whether this run met them (re-ranked rows only where the float32 vectors are kept).
// One byte a component is 4× float32 before anything else is stored; every int8 codec here also stores a scale
// per vector (and the residual one its centroid ids and table), so none reaches 4.00×. 'About 4×' is read as
// at least 3.8× (95 % of it), everything counted; the rows print the exact ratio.
const ABOUT_4X = 3.8
const int8Rows = rows.filter((x) => x.int8Only)
const i8 = int8Rows.reduce((a, b) => (b.recallAt10 > a.recallAt10 || (b.recallAt10 === a.recallAt10 && b.ratio > a.ratio) ? b : a))
const met = (prefix, ratio, recall) => rows.some((x) => x.codec.startsWith(prefix) && x.ratio >= ratio && x.recallAt10 >= recall)
const targets = {
  // The best int8-only codec (no float32 vectors kept anywhere): by recall, then ratio.
  int8Alone: i8.ratio >= ABOUT_4X && i8.recallAt10 >= 0.99,
  int8AloneCodec: i8.codec,
  int8WithFloatRerank: met('int8 +', ABOUT_4X, 0.99),
  pqWithFloatRerank: met(`pq m=${M} ks=${KS} +`, 32, 0.9),
}
const result = { vectors: N, dims: D, clusters: C, queries: Q, seed: SEED, rows, targets }
if (args.includes('--json')) console.log(JSON.stringify(result, null, 2))
else {
  console.log(`HSC: ${N} × ${D} clustered (${C} clusters, seed ${SEED}), ${Q} queries, recall@10 against exact float32 search; ratio counts scales, ids and codebooks`)
  for (const r of rows) {
    console.log(`${r.codec.padEnd(42)} ${(r.bytes / 2 ** 20).toFixed(2).padStart(7)} MiB  ${r.ratio.toFixed(2).padStart(6)}×  recall@10 ${r.recallAt10.toFixed(3)}` +
      `${r.needsFloat32 ? '  (re-ranks with the float32 vectors, kept elsewhere)' : ''}${r.trainS ? `  (train ${r.trainS.toFixed(1)} s on ${r.trainRows}, encode ${r.encodeS.toFixed(1)} s)` : ''}`)
  }
  console.log(`targets: int8 about 4× (≥ ${ABOUT_4X}×, all counted) at recall ≥ 0.99 alone: ${targets.int8Alone ? 'met' : 'not met'} by ${i8.codec} (${i8.ratio.toFixed(2)}×, ${i8.recallAt10.toFixed(3)}); ` +
    `int8 with float re-rank: ${targets.int8WithFloatRerank ? 'met' : 'not met'}; PQ ≥ 32× at ≥ 0.90 with float re-rank: ${targets.pqWithFloatRerank ? 'met' : 'not met'}`)
}
if (!args.includes('--no-save')) {
  const file = saveResult('hsc', result, { quick: QUICK })
  if (!args.includes('--json')) console.log(`wrote ${file}`)
}
