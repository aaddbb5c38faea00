// Residual int8: the "hierarchical" in HSC. A coarse quantiser (k centroids trained by k-means, stored once as
// binary16) takes out what vectors of a cluster share, and each vector keeps its centroid's id, one binary16
// scale and its residual (vector − centroid) as int8 components: the 8 bits are spent on the residual's range,
// which on clustered embeddings is much smaller than the vector's, so the rounding error shrinks by as much.
//
// The rounding is also anisotropic (after ScaNN's insight, Guo et al. 2020: for inner-product search the
// error along the directions the queries come from matters most): the queries that rank a vector high point
// mostly into the plane of the vector and its centroid, so after rounding to nearest a few components are
// rounded the other way, most useful first, until the error is (nearly) orthogonal to both. Each component
// still lies within one step of its value. Measured on the HSC bench's clustered data (bench/hsc.mjs, five
// seeds, 500 queries): plain int8 0.982–0.985, residuals rounded to nearest 0.990–0.993, with the
// anisotropic rounding 0.993–0.995.
//
// Bytes, all little-endian (a library codec measured by the bench; not written into containers):
//   codebook  magic "MRI1" · dims u32 · k u32 · k × dims binary16 (row-major)
//   per vector  centroid id u16 · scale binary16 · dims × i8  (component j = centroid[j] + i8[j] · scale)
// Encoding is pure JavaScript arithmetic, so the same data, options and seed give the same bytes anywhere.
import { MaifError } from '../errors.js'
import { fromHalf, toHalf } from './codecs.js'
import { mulberry32 } from './synthetic.js'

export const RESIDUAL_INT8_MAGIC = Buffer.from('MRI1', 'ascii')
const HEADER = 12

export interface ResidualInt8Codebook {
  dims: number
  /** Centroids (1…65536). */
  k: number
  /** k × dims, row-major; every value is exactly a binary16 one (that is what is stored). */
  centroids: Float32Array
}

export interface ResidualInt8TrainOptions {
  /** Centroids (default 256, at most 65536 and at most the training rows). */
  k?: number
  /** Lloyd iterations (default 8). */
  iters?: number
  /** Fixes the initial centroids and the restarts of empty ones (default 1). */
  seed?: number
  /** Rows k-means trains on, taken evenly across the data (default 5000; all when fewer). */
  sample?: number
}

const bad = (m: string): never => { throw new MaifError('MAIF_ERR_QUANTIZE', `residual int8: ${m}`) }
const badOption = (m: string): never => { throw new MaifError('MAIF_ERR_INVALID_OPTION', `residual int8: ${m}`) }

/** Checks that `data` holds whole rows of `dims` finite components; returns the row count. */
function rows(data: Float32Array, dims: number): number {
  if (!Number.isInteger(dims) || dims < 1 || dims > 65536) bad(`dims must be an integer from 1 to 65536, not ${dims}`)
  if (data.length % dims !== 0) bad(`${data.length} components are not whole vectors of ${dims}`)
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) bad(`component ${i % dims} of vector ${Math.floor(i / dims)} is ${data[i]} (vectors must be finite)`)
  }
  return data.length / dims
}

/** Nearest centroid by L2 distance (the largest x·c − |c|²/2); ties go to the lower id. */
function nearest(x: Float32Array, xo: number, C: Float32Array, halfNorms: Float64Array, k: number, dims: number): number {
  let best = 0
  let bestS = -Infinity
  const d4 = dims - (dims % 4)
  for (let c = 0; c < k; c++) {
    const co = c * dims
    // Four accumulators: k-means spends its time here.
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0
    let j = 0
    for (; j < d4; j += 4) {
      s0 += x[xo + j]! * C[co + j]!
      s1 += x[xo + j + 1]! * C[co + j + 1]!
      s2 += x[xo + j + 2]! * C[co + j + 2]!
      s3 += x[xo + j + 3]! * C[co + j + 3]!
    }
    for (; j < dims; j++) s0 += x[xo + j]! * C[co + j]!
    const s = s0 + s1 + s2 + s3 - halfNorms[c]!
    if (s > bestS) { bestS = s; best = c }
  }
  return best
}

function halfNormsOf(C: Float32Array, k: number, dims: number): Float64Array {
  const h = new Float64Array(k)
  for (let c = 0; c < k; c++) {
    let s = 0
    for (let j = 0; j < dims; j++) s += C[c * dims + j]! ** 2
    h[c] = s / 2
  }
  return h
}

/** The nearest binary16 value, as a number (values beyond its range are refused by the callers). */
const half = (x: number): number => fromHalf(toHalf(x))

/** Trains the coarse quantiser: k-means on an even sample of the rows, centroids rounded to binary16. */
export function trainResidualInt8(data: Float32Array, dims: number, o: ResidualInt8TrainOptions = {}): ResidualInt8Codebook {
  const n = rows(data, dims)
  const k = o.k ?? 256
  const iters = o.iters ?? 8
  const sample = Math.min(n, o.sample ?? 5000)
  if (!Number.isInteger(k) || k < 1 || k > 65536) badOption(`k must be an integer from 1 to 65536, not ${k}`)
  if (!Number.isInteger(iters) || iters < 0) badOption(`iters must be a whole number, not ${iters}`)
  if (!Number.isInteger(sample) || sample < k) badOption(`k (${k}) needs at least as many training rows (${sample} given)`)
  for (let i = 0; i < data.length; i++) if (Math.abs(data[i]!) > 65504) bad(`component ${data[i]} is beyond binary16's range (±65504)`)
  // An even sample (not the first rows), copied so the Lloyd loop reads contiguous memory.
  const train = new Float32Array(sample * dims)
  for (let i = 0; i < sample; i++) {
    const r = Math.floor((i * n) / sample)
    train.set(data.subarray(r * dims, (r + 1) * dims), i * dims)
  }
  const rnd = mulberry32(o.seed ?? 1)
  const C = new Float32Array(k * dims)
  // k distinct sample rows to start from (a partial Fisher–Yates shuffle).
  const order = Int32Array.from({ length: sample }, (_, i) => i)
  for (let c = 0; c < k; c++) {
    const p = c + Math.floor(rnd() * (sample - c))
    const r = order[p]!
    order[p] = order[c]!
    order[c] = r
    C.set(train.subarray(r * dims, (r + 1) * dims), c * dims)
  }
  const assign = new Int32Array(sample)
  const sums = new Float64Array(k * dims)
  const counts = new Int32Array(k)
  for (let it = 0; it < iters; it++) {
    const h = halfNormsOf(C, k, dims)
    for (let i = 0; i < sample; i++) assign[i] = nearest(train, i * dims, C, h, k, dims)
    sums.fill(0)
    counts.fill(0)
    for (let i = 0; i < sample; i++) {
      const c = assign[i]!
      counts[c]!++
      for (let j = 0; j < dims; j++) sums[c * dims + j]! += train[i * dims + j]!
    }
    for (let c = 0; c < k; c++) {
      if (counts[c] === 0) {
        const r = Math.floor(rnd() * sample) // an empty cluster restarts at a random sample row
        C.set(train.subarray(r * dims, (r + 1) * dims), c * dims)
      } else for (let j = 0; j < dims; j++) C[c * dims + j] = sums[c * dims + j]! / counts[c]!
    }
  }
  for (let i = 0; i < C.length; i++) C[i] = half(C[i]!)
  return { dims, k, centroids: C }
}

/** A codebook built by hand must be what the bytes can carry: k × dims binary16 values. */
function checkCodebook(cb: ResidualInt8Codebook): void {
  if (!Number.isInteger(cb.dims) || cb.dims < 1 || cb.dims > 65536 || !Number.isInteger(cb.k) || cb.k < 1 || cb.k > 65536) bad(`codebook dims ${cb.dims} or k ${cb.k} is out of range`)
  if (cb.centroids.length !== cb.k * cb.dims) bad(`the codebook holds ${cb.centroids.length} components, not k × dims = ${cb.k * cb.dims}`)
  for (let i = 0; i < cb.centroids.length; i++) {
    const v = cb.centroids[i]!
    if (!Number.isFinite(v) || half(v) !== v) bad(`centroid component ${i} (${v}) is not a finite binary16 value (as trainResidualInt8 makes them)`)
  }
}

/** Bytes of one encoded vector. */
export const residualInt8Stride = (dims: number): number => 4 + dims

/** Everything a reader needs for n vectors: the codebook (header and binary16 centroids) and the codes. */
export function residualInt8Bytes(cb: ResidualInt8Codebook, n: number): number {
  return HEADER + cb.k * cb.dims * 2 + n * residualInt8Stride(cb.dims)
}

/** The smallest binary16 scale s with max / s ≤ 127, so no component is clipped. */
function scaleFor(max: number): number {
  if (max === 0) return 0
  let h = toHalf(max / 127)
  if (fromHalf(h) * 127 < max) h++ // next binary16 up (positive values: the bits are ordered)
  const s = fromHalf(h)
  if (!Number.isFinite(s)) bad(`a residual of ${max} is beyond what a binary16 scale can carry`)
  return s
}

export interface ResidualInt8EncodeOptions {
  /**
   * 'anisotropic' (default): error made (nearly) orthogonal to the vector and its centroid; 'nearest': plain rounding to
   * nearest, each component within half a step (kept to measure what the anisotropic rounding adds).
   */
  rounding?: 'anisotropic' | 'nearest'
}

/** Encodes the rows of `data`: n × (4 + dims) bytes, laid out as the header comment says. */
export function encodeResidualInt8(cb: ResidualInt8Codebook, data: Float32Array, o: ResidualInt8EncodeOptions = {}): Buffer {
  const rounding = o.rounding ?? 'anisotropic'
  if (rounding !== 'anisotropic' && rounding !== 'nearest') badOption(`rounding must be 'anisotropic' or 'nearest', not ${String(rounding)}`)
  checkCodebook(cb)
  const { dims, k, centroids: C } = cb
  if (data.length % dims !== 0) bad(`${data.length} components are not whole vectors of the codebook's ${dims}`)
  const n = rows(data, dims)
  const stride = residualInt8Stride(dims)
  const out = Buffer.alloc(n * stride)
  const h = halfNormsOf(C, k, dims)
  const r = new Float64Array(dims)
  const q = new Int32Array(dims)
  const flipped = new Uint8Array(dims)
  for (let i = 0; i < n; i++) {
    const xo = i * dims
    const c = nearest(data, xo, C, h, k, dims)
    const co = c * dims
    let max = 0
    for (let j = 0; j < dims; j++) {
      r[j] = data[xo + j]! - C[co + j]!
      max = Math.max(max, Math.abs(r[j]!))
    }
    const s = scaleFor(max)
    for (let j = 0; j < dims; j++) q[j] = s === 0 ? 0 : Math.round(r[j]! / s)
    if (s !== 0 && rounding === 'anisotropic') anisotropic(data, xo, C, co, h[c]!, r, q, s, dims, flipped)
    let o = i * stride
    o = out.writeUInt16LE(c, o)
    o = out.writeUInt16LE(toHalf(s), o)
    for (let j = 0; j < dims; j++) out[o + j] = q[j]! & 0xff
  }
  return out
}

/**
 * Rounds some components the other way (each at most once) to bring the error e = centroid + q·s − x close to
 * orthogonal to both x and its centroid: the queries that rank x high point mostly into the plane of the two.
 * Greedy: each step takes the flip that removes the most of |(x̂·e, ĉ·e)|² per unit of squared error it adds,
 * and it stops when no flip removes any. Ties go to the lower component, so the result is deterministic.
 */
function anisotropic(x: Float32Array, xo: number, C: Float32Array, co: number, cHalfNorm: number, r: Float64Array, q: Int32Array, s: number, dims: number, flipped: Uint8Array): void {
  let xn = 0
  for (let j = 0; j < dims; j++) xn += x[xo + j]! * x[xo + j]!
  const ix = xn === 0 ? 0 : 1 / Math.sqrt(xn)
  const ic = cHalfNorm === 0 ? 0 : 1 / Math.sqrt(2 * cHalfNorm)
  let dx = 0 // x̂ · e
  let dc = 0 // ĉ · e
  for (let j = 0; j < dims; j++) {
    const e = q[j]! * s - r[j]!
    dx += e * x[xo + j]! * ix
    dc += e * C[co + j]! * ic
  }
  flipped.fill(0)
  for (;;) {
    const now = dx * dx + dc * dc
    let best = -1
    let bestEff = 0
    let bestDir = 0
    for (let j = 0; j < dims; j++) {
      if (flipped[j] === 1) continue
      const e = q[j]! * s - r[j]!
      if (e === 0) continue
      const dir = e > 0 ? -1 : 1
      if (Math.abs(q[j]! + dir) > 127) continue
      const nx = dx + dir * s * x[xo + j]! * ix
      const nc = dc + dir * s * C[co + j]! * ic
      const gain = now - (nx * nx + nc * nc)
      if (gain <= 0) continue
      const eff = gain / (s * s - 2 * s * Math.abs(e)) // the added squared error is ≥ 0 since |e| ≤ s/2
      if (eff > bestEff) { bestEff = eff; best = j; bestDir = dir }
    }
    if (best < 0) return
    flipped[best] = 1
    q[best]! += bestDir
    dx += bestDir * s * x[xo + best]! * ix
    dc += bestDir * s * C[co + best]! * ic
  }
}

/** Decodes n × dims float32 components from codes written by `encodeResidualInt8` with this codebook. */
export function decodeResidualInt8(cb: ResidualInt8Codebook, codes: Uint8Array): Float32Array {
  checkCodebook(cb)
  const { dims, k, centroids: C } = cb
  const stride = residualInt8Stride(dims)
  if (codes.length % stride !== 0) bad(`${codes.length} bytes are not whole codes of ${stride} (dims ${dims} + 4)`)
  const n = codes.length / stride
  const buf = Buffer.from(codes.buffer, codes.byteOffset, codes.byteLength)
  const v = new Float32Array(n * dims)
  for (let i = 0; i < n; i++) {
    const o = i * stride
    const c = buf.readUInt16LE(o)
    if (c >= k) bad(`vector ${i} names centroid ${c}, but the codebook has ${k}`)
    const s = fromHalf(buf.readUInt16LE(o + 2))
    if (!Number.isFinite(s) || s < 0) bad(`vector ${i} has scale ${s}`)
    for (let j = 0; j < dims; j++) v[i * dims + j] = C[c * dims + j]! + buf.readInt8(o + 4 + j) * s
  }
  return v
}

/** The codebook's bytes: magic, dims and k (u32 LE), then the centroids as binary16 LE. */
export function writeResidualInt8Codebook(cb: ResidualInt8Codebook): Buffer {
  checkCodebook(cb)
  const out = Buffer.alloc(HEADER + cb.k * cb.dims * 2)
  let o = RESIDUAL_INT8_MAGIC.copy(out, 0)
  o = out.writeUInt32LE(cb.dims, o)
  o = out.writeUInt32LE(cb.k, o)
  for (let i = 0; i < cb.centroids.length; i++) o = out.writeUInt16LE(toHalf(cb.centroids[i]!), o)
  return out
}

export function readResidualInt8Codebook(buf: Buffer): ResidualInt8Codebook {
  if (buf.length < HEADER || !buf.subarray(0, 4).equals(RESIDUAL_INT8_MAGIC)) bad('not a residual int8 codebook (bad magic or too short)')
  const dims = buf.readUInt32LE(4)
  const k = buf.readUInt32LE(8)
  if (dims < 1 || dims > 65536 || k < 1 || k > 65536) bad(`dims ${dims} or k ${k} is out of range`)
  if (buf.length !== HEADER + k * dims * 2) bad(`length ${buf.length} does not match its header (${HEADER + k * dims * 2} for ${k} × ${dims})`)
  const centroids = new Float32Array(k * dims)
  for (let i = 0; i < centroids.length; i++) centroids[i] = fromHalf(buf.readUInt16LE(HEADER + 2 * i))
  for (let i = 0; i < centroids.length; i++) if (!Number.isFinite(centroids[i])) bad(`centroid component ${i} is not finite`)
  return { dims, k, centroids }
}
