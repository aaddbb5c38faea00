// Embedding codecs of EMBD payloads: binary16 conversion against known bit patterns and its error bound,
// int8 scalar quantisation within half a step, payload sizes per dtype, and the recall@10 of exact search
// over the decoded vectors against exact search over the float32 originals (clustered data).
import t from 'tap'
import { fromHalf, readVectors, toHalf, vectorBytes, writeVectors } from '../src/core/semantic/codecs.js'
import { decodeEmbeddings, encodeEmbeddings } from '../src/core/semantic/embd.js'
import { bruteTopK, clustered } from './helpers/clustered.js'

t.test('binary16', async (t) => {
  const known: Array<[number, number]> = [[1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [65520, 0x7c00], [2 ** -24, 0x0001], [2 ** -14, 0x0400], [0.1, 0x2e66], [-0, 0x8000], [1e-9, 0x0000], [0.333251953125, 0x3555]]
  for (const [x, h] of known) t.equal(toHalf(x), h, `${x} → 0x${h.toString(16)}`)
  t.equal(fromHalf(0x3c00), 1)
  t.equal(fromHalf(0x0001), 2 ** -24)
  t.equal(fromHalf(0x7c00), Infinity)
  t.ok(Number.isNaN(fromHalf(toHalf(NaN))))
  t.equal(toHalf(1 + 2 ** -11), 0x3c00, 'a tie rounds to even (down)')
  t.equal(toHalf(1 + 3 * 2 ** -11), 0x3c02, 'a tie rounds to even (up)')
  let worst = 0
  for (let i = 0; i < 10000; i++) {
    const x = Math.sin(i * 12.9898) * 1.7
    if (Math.abs(x) < 2 ** -14) continue
    worst = Math.max(worst, Math.abs(fromHalf(toHalf(x)) - x) / Math.abs(x))
  }
  t.ok(worst <= 2 ** -11, `relative error ≤ 2^-11 for normal numbers (${worst})`)
})

t.test('int8 scalar quantisation and payload sizes', async (t) => {
  const dims = 8
  const v = Float32Array.from([0.5, -0.25, 0.125, 0, 1, -1, 0.3, 0.7, /* second vector */ 0, 0, 0, 0, 0, 0, 0, 0])
  const buf = Buffer.alloc(vectorBytes('int8', 2, dims))
  t.equal(buf.length, 2 * (4 + dims))
  writeVectors('int8', v, dims, buf, 0)
  const back = readVectors('int8', buf, 0, 2, dims)
  const step = 1 / 127
  for (let i = 0; i < dims; i++) t.ok(Math.abs(back[i]! - v[i]!) <= step / 2 + 1e-7, `component ${i} within half a step`)
  t.ok(back.subarray(8).every((x) => x === 0), 'a zero vector stays zero')
  const base = { model: 'm', dims: 384, normalized: true, index: { metric: 'cosine' as const, m: 16, efConstruction: 128 }, batchRecords: 10, ordinals: Uint32Array.from({ length: 10 }, (_, i) => i), hashes: Buffer.alloc(320), vectors: clustered(10, 384) }
  const sizes = Object.fromEntries((['float32', 'float16', 'int8'] as const).map((dtype) => [dtype, encodeEmbeddings({ ...base, dtype }).length]))
  t.equal(sizes.float32! - sizes.float16!, 10 * 384 * 2, 'float16 halves the vectors')
  t.equal(sizes.float32! - sizes.int8!, 10 * (384 * 3 - 4), 'int8 stores a byte a component plus a scale')
  for (const dtype of ['float16', 'int8'] as const) {
    const d = decodeEmbeddings(encodeEmbeddings({ ...base, dtype }))
    t.equal(d.dtype, dtype)
    t.ok(d.vectors.every((x, i) => Math.abs(x - base.vectors[i]!) < (dtype === 'int8' ? 0.01 : 0.001)), `${dtype} decodes close to the original`)
  }
})

t.test('recall@10 of search over decoded vectors against float32', async (t) => {
  const N = 4000
  const D = 128
  const data = clustered(N, D, { clusters: 80, spread: 0.8, seed: 5 })
  const queries = clustered(50, D, { clusters: 80, spread: 0.8, seed: 5, points: 77 })
  for (const [dtype, floor] of [['float16', 0.99], ['int8', 0.97]] as const) {
    const buf = Buffer.alloc(vectorBytes(dtype, N, D))
    writeVectors(dtype, data, D, buf, 0)
    const decoded = readVectors(dtype, buf, 0, N, D)
    let hit = 0
    for (let i = 0; i < 50; i++) {
      const q = queries.subarray(i * D, (i + 1) * D)
      const truth = new Set(bruteTopK(data, D, q, 10))
      for (const id of bruteTopK(decoded, D, q, 10)) if (truth.has(id)) hit++
    }
    const recall = hit / 500
    t.ok(recall >= floor, `${dtype}: ${(N * D * 4 / buf.length).toFixed(2)}× smaller, recall@10 ${recall.toFixed(3)} ≥ ${floor}`)
  }
})
