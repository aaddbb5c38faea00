// ACAM, adaptive cross-modal attention, as plain multi-head scaled dot-product attention across the
// embeddings of one item's modalities (text, image, audio vectors of the same dimension), with each
// modality's trust (from its verification status) entering as a log-prior on the attention it receives:
//
//   head h:  A_h = softmax_row( Q_h K_hᵀ / √d_h + log(trust)ᵀ ),   O_h = A_h V_h
//   outputs  O = [O_1 … O_H] W_o,   fused = Σ_i trust_i O_i / Σ_i trust_i
//
// so a modality with trust 0 is attended to by none and pooled into nothing, and lower trust weighs less.
// There is no training here: the projections are given, or identity (each head then attends within its own
// slice of the dimensions), or seeded Xavier-uniform. It is independent of the container format.
import { MaifError } from '../errors.js'

export interface Modality {
  name: string
  vector: Float32Array
  /** 0 … 1: how far the block it came from verified (see trustOf). */
  trust: number
}

export interface AcamOptions {
  dims: number
  /** Heads; dims must be a multiple of it. */
  heads: number
  /** d×d row-major projections (x ↦ x W). Default: identity. */
  weights?: { q: Float32Array; k: Float32Array; v: Float32Array; o: Float32Array }
}

export interface AcamResult {
  /** Per head, the n×n attention matrix (row i: how modality i attends to each j). */
  attention: number[][][]
  /** Per modality, its attended representation (d values). */
  outputs: Float32Array[]
  /** The trust-weighted mean of the outputs. */
  fused: Float32Array
}

/** Trust from verification status: verified 1, verified without a pinned key 0.5, unverified or failed 0. */
export function trustOf(status: 'verified' | 'unpinned' | 'unverified' | 'failed'): number {
  return status === 'verified' ? 1 : status === 'unpinned' ? 0.5 : 0
}

export function identityWeights(d: number): { q: Float32Array; k: Float32Array; v: Float32Array; o: Float32Array } {
  const id = new Float32Array(d * d)
  for (let i = 0; i < d; i++) id[i * d + i] = 1
  return { q: id, k: id, v: id, o: id }
}

/** Xavier-uniform projections from a seed (mulberry32), for experiments; untrained. */
export function xavierWeights(d: number, seed: number): { q: Float32Array; k: Float32Array; v: Float32Array; o: Float32Array } {
  let a = seed >>> 0
  const rnd = (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const limit = Math.sqrt(6 / (d + d))
  const m = (): Float32Array => Float32Array.from({ length: d * d }, () => (rnd() * 2 - 1) * limit)
  return { q: m(), k: m(), v: m(), o: m() }
}

function project(x: Float32Array, w: Float32Array, d: number): Float64Array {
  const out = new Float64Array(d)
  for (let i = 0; i < d; i++) {
    const xi = x[i]!
    if (xi === 0) continue
    for (let j = 0; j < d; j++) out[j]! += xi * w[i * d + j]!
  }
  return out
}

export function crossModalAttention(mods: readonly Modality[], o: AcamOptions): AcamResult {
  const d = o.dims
  const H = o.heads
  const bad = (m: string): never => { throw new MaifError('MAIF_ERR_INVALID_OPTION', `cross-modal attention: ${m}`) }
  if (!Number.isInteger(d) || d < 1 || !Number.isInteger(H) || H < 1 || d % H !== 0) bad(`dims (${d}) must be a positive multiple of heads (${H})`)
  if (mods.length === 0) bad('no modalities')
  for (const m of mods) {
    if (m.vector.length !== d) bad(`modality '${m.name}' has ${m.vector.length} dimensions, not ${d}`)
    if (!(m.trust >= 0 && m.trust <= 1)) bad(`modality '${m.name}' has trust ${m.trust}; it must be from 0 to 1`)
  }
  const totalTrust = mods.reduce((s, m) => s + m.trust, 0)
  if (totalTrust === 0) bad('every modality has trust 0: there is nothing to attend to')
  const w = o.weights ?? identityWeights(d)
  for (const k of ['q', 'k', 'v', 'o'] as const) if (w[k].length !== d * d) bad(`weights.${k} must be ${d}×${d}`)
  const dh = d / H
  const Q = mods.map((m) => project(m.vector, w.q, d))
  const K = mods.map((m) => project(m.vector, w.k, d))
  const V = mods.map((m) => project(m.vector, w.v, d))
  const n = mods.length
  const attention: number[][][] = []
  const concat = mods.map(() => new Float32Array(d))
  for (let h = 0; h < H; h++) {
    const lo = h * dh
    const rows: number[][] = []
    for (let i = 0; i < n; i++) {
      const scores = new Array<number>(n)
      for (let j = 0; j < n; j++) {
        if (mods[j]!.trust === 0) { scores[j] = -Infinity; continue }
        let s = 0
        for (let c = lo; c < lo + dh; c++) s += Q[i]![c]! * K[j]![c]!
        scores[j] = s / Math.sqrt(dh) + Math.log(mods[j]!.trust)
      }
      // Softmax, shifted by the row maximum for stability; at least one column is finite (some trust > 0).
      const max = Math.max(...scores)
      const e = scores.map((s) => (s === -Infinity ? 0 : Math.exp(s - max)))
      const sum = e.reduce((a, b) => a + b, 0)
      const row = e.map((x) => x / sum)
      rows.push(row)
      for (let j = 0; j < n; j++) {
        if (row[j] === 0) continue
        for (let c = lo; c < lo + dh; c++) concat[i]![c]! += row[j]! * V[j]![c]!
      }
    }
    attention.push(rows)
  }
  const outputs = concat.map((x) => Float32Array.from(project(x, w.o, d)))
  const fused = new Float32Array(d)
  for (let i = 0; i < n; i++) {
    const t = mods[i]!.trust / totalTrust
    if (t === 0) continue
    for (let c = 0; c < d; c++) fused[c]! += t * outputs[i]![c]!
  }
  return { attention, outputs, fused }
}
