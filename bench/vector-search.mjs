// Vector search bench: an HNSW index (maif's VectorIndex over usearch) on clustered unit vectors, measured
// against exact search (usearch's SIMD brute-force scan; test/semantic-recall.test.ts checks it against plain
// JS) in the same run. Prints build time, index size (serialised) and RSS growth, query p50/p99 (one query
// at a time, one thread) and recall@10, for f32 and for the scalar-quantised f16 and i8 storage.
//
//   npm run build && node bench/vector-search.mjs                         # 100k × 384
//   node bench/vector-search.mjs --vectors 1e6                             # the 1M run (tens of minutes here)
//   node bench/vector-search.mjs --quick                                  # 20k × 384
//   node bench/vector-search.mjs --vectors 2e4 --quant f32,i8 --json --no-save
//
// Flags: --vectors N (1e5) --dims D (384) --clusters C (N/100) --spread S (0.8) --queries Q (200) --k K (10)
//        --m M (16) --efc EFC (128) --ef EF (128) --quant f32,f16,i8 --threads T (0: all) --json --quick
//        --no-save (else the result goes to bench/results/vector-search-*.json)
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { VectorIndex, exactNeighbours, clusteredVectors } from '../dist/index.js'
import { saveResult } from './save-result.mjs'

const args = process.argv.slice(2)
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`)
  return i === -1 ? def : args[i + 1]
}
const QUICK = args.includes('--quick')
const N = Number(opt('vectors', QUICK ? 2e4 : 1e5))
const D = Number(opt('dims', 384))
const C = Number(opt('clusters', Math.max(10, Math.round(N / 100))))
const SPREAD = Number(opt('spread', 0.8))
const Q = Number(opt('queries', 200))
const K = Number(opt('k', 10))
const M = Number(opt('m', 16))
const EFC = Number(opt('efc', 128))
const EF = Number(opt('ef', 128))
const THREADS = Number(opt('threads', 0))
const QUANT = String(opt('quant', 'f32,f16,i8')).split(',')
const JSON_OUT = args.includes('--json')

/** Clustered unit vectors (the generator the recall tests use). */
const clustered = (n, seed, pointSeed) => clusteredVectors(n, D, { clusters: C, spread: SPREAD, seed, points: pointSeed })

const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))] }
const mib = (b) => b / 2 ** 20
const log = (...a) => { if (!JSON_OUT) console.log(...a) }

let t0 = performance.now()
const data = clustered(N, 1, 2)
const queries = clustered(Q, 1, 3)
log(`generated ${N} × ${D} clustered vectors (${C} clusters, spread ${SPREAD}) in ${((performance.now() - t0) / 1000).toFixed(1)} s (${mib(data.byteLength).toFixed(0)} MiB as f32)`)

t0 = performance.now()
const truth = []
const exactMs = []
for (let i = 0; i < Q; i++) {
  const t = performance.now()
  truth.push(new Set((await exactNeighbours(data, D, queries.subarray(i * D, (i + 1) * D), K, 'ip')).ids))
  exactMs.push(performance.now() - t)
}
const exact = { p50Ms: pct(exactMs, 0.5), p99Ms: pct(exactMs, 0.99) }
log(`exact search (SIMD scan, 1 thread): p50 ${exact.p50Ms.toFixed(2)} ms, p99 ${exact.p99Ms.toFixed(2)} ms per query`)

const results = []
const dir = mkdtempSync(join(tmpdir(), 'maif-vbench-'))
try {
  for (const quantization of QUANT) {
    global.gc?.()
    const rss0 = process.memoryUsage().rss
    const index = await VectorIndex.create({ dims: D, metric: 'cosine', m: M, efConstruction: EFC, efSearch: EF, quantization, threads: THREADS })
    t0 = performance.now()
    const CHUNK = 16384
    for (let s = 0; s < N; s += CHUNK) {
      const n = Math.min(CHUNK, N - s)
      index.add(Array.from({ length: n }, (_, i) => s + i), data.subarray(s * D, (s + n) * D))
    }
    const buildS = (performance.now() - t0) / 1000
    const rssGrowth = process.memoryUsage().rss - rss0
    const ms = []
    let hit = 0
    for (let i = 0; i < Q; i++) {
      const q = queries.subarray(i * D, (i + 1) * D)
      const t = performance.now()
      const r = index.search(q, K)
      ms.push(performance.now() - t)
      for (const id of r.ids) if (truth[i].has(id)) hit++
    }
    // The serialised index is what it holds in memory: vectors at this precision plus the graph.
    const file = join(dir, `${quantization}.usearch`)
    index.save?.(file)
    const bytes = index.save ? statSync(file).size : null
    const r = {
      quantization, vectors: N, dims: D, m: M, efConstruction: EFC, efSearch: EF, buildS, insertsPerS: N / buildS,
      indexMiB: bytes === null ? null : mib(bytes), vectorMiBAsF32: mib(N * D * 4), rssGrowthMiB: mib(rssGrowth),
      p50Ms: pct(ms, 0.5), p99Ms: pct(ms, 0.99), recallAt10: hit / (Q * K),
    }
    results.push(r)
    log(`${quantization}: build ${buildS.toFixed(1)} s (${r.insertsPerS.toFixed(0)} inserts/s)` +
      `${r.indexMiB === null ? '' : `, index ${r.indexMiB.toFixed(0)} MiB`}, RSS +${r.rssGrowthMiB.toFixed(0)} MiB; ` +
      `query p50 ${r.p50Ms.toFixed(3)} ms, p99 ${r.p99Ms.toFixed(3)} ms; recall@${K} ${r.recallAt10.toFixed(3)}`)
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
const summary = { vectors: N, dims: D, clusters: C, spread: SPREAD, queries: Q, k: K, exact, results }
if (JSON_OUT) console.log(JSON.stringify({ node: process.version, ...summary }, null, 2))
if (!args.includes('--no-save')) log(`wrote ${saveResult('vector-search', summary, { quick: QUICK })}`)
