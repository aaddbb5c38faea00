// HSC, measured honestly: embedding compression ratios counted with everything a reader needs (per-vector
// scales, PQ codebooks), and the recall@10 of search over the compressed vectors against exact float32 search,
// on clustered unit vectors, all in the same run.
//
//   npm run build && node bench/hsc.mjs [--vectors 20000] [--dims 384] [--m 48] [--ks 256] [--train 5000] [--json]
import { performance } from 'node:perf_hooks'
import { exactNeighbours, writeVectors, readVectors, vectorBytes, trainPq, encodePq, searchPq, pqBytes } from '../dist/index.js'

const args = process.argv.slice(2)
const opt = (name, def) => { const i = args.indexOf(`--${name}`); return i === -1 ? def : Number(args[i + 1]) }
const N = opt('vectors', 20000), D = opt('dims', 384), M = opt('m', 48), KS = opt('ks', 256), TRAIN = opt('train', 5000)
const Q = opt('queries', 100), K = 10, C = Math.max(10, Math.round(N / 100)), RERANK = opt('rerank', 100)

function mulberry32(seed) { let a = seed >>> 0; return () => { a = (a + 0x6d2b79f5) >>> 0; let t = a; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296 } }
function clustered(n, seed, pointSeed) {
  let rnd = mulberry32(seed)
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd())
  const centres = new Float32Array(C * D)
  for (let i = 0; i < centres.length; i++) centres[i] = gauss() / Math.sqrt(D)
  rnd = mulberry32(pointSeed)
  const out = new Float32Array(n * D)
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rnd() * C); let norm = 0
    for (let j = 0; j < D; j++) { const v = centres[c * D + j] + (0.8 * gauss()) / Math.sqrt(D); out[i * D + j] = v; norm += v * v }
    const inv = 1 / Math.sqrt(norm); for (let j = 0; j < D; j++) out[i * D + j] *= inv
  }
  return out
}

const data = clustered(N, 1, 2), queries = clustered(Q, 1, 3)
const raw = N * D * 4
const truth = []
for (let i = 0; i < Q; i++) truth.push(new Set((await exactNeighbours(data, D, queries.subarray(i * D, (i + 1) * D), K, 'ip')).ids))
const recallOf = async (search) => { let hit = 0; for (let i = 0; i < Q; i++) for (const id of await search(queries.subarray(i * D, (i + 1) * D))) if (truth[i].has(id)) hit++; return hit / (Q * K) }

const rows = []
for (const dtype of ['float16', 'int8']) {
  const buf = Buffer.alloc(vectorBytes(dtype, N, D)); writeVectors(dtype, data, D, buf, 0)
  const dec = readVectors(dtype, buf, 0, N, D)
  rows.push({ codec: dtype, bytes: buf.length, ratio: raw / buf.length, recallAt10: await recallOf(async (q) => (await exactNeighbours(dec, D, q, K, 'ip')).ids) })
}
let t0 = performance.now()
const cb = trainPq(data.subarray(0, Math.min(TRAIN, N) * D), D, { m: M, ks: KS, iters: 6, seed: 7 })
const trainS = (performance.now() - t0) / 1000
t0 = performance.now()
const codes = encodePq(cb, data)
const encodeS = (performance.now() - t0) / 1000
const bytes = pqBytes(cb, N)
rows.push({ codec: `pq m=${M} ks=${KS} (codes only)`, bytes, ratio: raw / bytes, recallAt10: await recallOf((q) => searchPq(cb, codes, q, K)), trainS, encodeS })
rows.push({ codec: `pq m=${M} ks=${KS} + float re-rank of ${RERANK}`, bytes, ratio: raw / bytes, recallAt10: await recallOf((q) => searchPq(cb, codes, q, K, { vectors: data, rerank: RERANK })), note: 're-ranking reads the float32 vectors of the candidates' })

if (args.includes('--json')) console.log(JSON.stringify({ vectors: N, dims: D, clusters: C, queries: Q, rows }, null, 2))
else {
  console.log(`HSC: ${N} × ${D} clustered (${C} clusters), ${Q} queries, recall@10 against exact float32 search; ratio counts scales and codebooks`)
  for (const r of rows) console.log(`${r.codec.padEnd(38)} ${(r.bytes / 2 ** 20).toFixed(2).padStart(7)} MiB  ${r.ratio.toFixed(2).padStart(6)}×  recall@10 ${r.recallAt10.toFixed(3)}${r.trainS ? `  (train ${r.trainS.toFixed(1)} s on ${Math.min(TRAIN, N)}, encode ${r.encodeS.toFixed(1)} s)` : ''}`)
}
