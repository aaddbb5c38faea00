// An HNSW vector index (usearch) behind a small interface. usearch is loaded on first use, so that importing
// maif never loads its native module; a platform without a usearch binary gets a clear MAIF_ERR_SEARCH when
// it searches, and everything else still works.
import { createRequire } from 'node:module'
import type * as USearch from 'usearch'
import { MaifError, wrapError } from '../errors.js'
import type { Metric } from './embd.js'

export interface VectorIndexOptions {
  dims: number
  metric: Metric
  /** HNSW graph degree (default 16). */
  m?: number
  /** Candidate list while building (default 128). */
  efConstruction?: number
  /** Candidate list while searching (default 128); larger is slower and finds more of the true neighbours. */
  efSearch?: number
  /** How the index stores vectors: f32 (default), f16 or i8 (scalar-quantised, 4× smaller than f32). */
  quantization?: 'f32' | 'f16' | 'i8'
  /** Threads for bulk adds (default 0: as many as the machine has). */
  threads?: number
}

export interface VectorHits {
  /** Ids given to `add`, best first. */
  ids: number[]
  /** Similarity, best first: cosine or inner product, or minus the squared L2 distance. */
  scores: number[]
}

let loaded: Promise<typeof USearch> | undefined

// usearch's ESM build finds its native binary through the call stack (the `bindings` package), which recurses
// until the stack overflows on Node 22 and 24; its CommonJS build uses __dirname and loads on 20, 22 and 24.
const requireCjs = createRequire(import.meta.url)

async function usearch(): Promise<typeof USearch> {
  loaded ??= Promise.resolve().then(() => requireCjs('usearch') as typeof USearch).catch((err: unknown) => {
    loaded = undefined
    throw wrapError('MAIF_ERR_SEARCH', 'the vector index library (usearch) could not be loaded on this platform', err)
  })
  return loaded
}

const METRIC_KIND = { cosine: 'cos', ip: 'ip', l2: 'l2sq' } as const

/** usearch distances to similarities (higher is better): 1 − cos, 1 − ip and squared L2. */
function score(metric: Metric, distance: number): number {
  return metric === 'l2' ? -distance : 1 - distance
}

export class VectorIndex {
  readonly dims: number
  readonly metric: Metric
  readonly #index: USearch.Index
  readonly #threads: number

  private constructor(index: USearch.Index, o: VectorIndexOptions) {
    this.#index = index
    this.dims = o.dims
    this.metric = o.metric
    this.#threads = o.threads ?? 0
  }

  static async create(o: VectorIndexOptions): Promise<VectorIndex> {
    const u = await usearch()
    try {
      const index = new u.Index({
        dimensions: o.dims, metric: METRIC_KIND[o.metric] as USearch.MetricKind, quantization: (o.quantization ?? 'f32') as USearch.ScalarKind,
        connectivity: o.m ?? 16, expansion_add: o.efConstruction ?? 128, expansion_search: o.efSearch ?? 128, multi: false,
      })
      return new VectorIndex(index, o)
    } catch (err) {
      throw wrapError('MAIF_ERR_INVALID_OPTION', 'the vector index could not be created', err)
    }
  }

  get size(): number {
    return this.#index.size()
  }

  /** Adds `ids.length` vectors (row-major in `vectors`). */
  add(ids: ArrayLike<number>, vectors: Float32Array): void {
    if (vectors.length !== ids.length * this.dims) throw new MaifError('MAIF_ERR_SEARCH', `${ids.length} ids but ${vectors.length / this.dims} vectors of ${this.dims} dimensions`)
    if (ids.length === 0) return
    const keys = new BigUint64Array(ids.length)
    for (let i = 0; i < ids.length; i++) keys[i] = BigInt(ids[i]!)
    this.#index.add(keys, vectors, this.#threads)
  }

  /** Writes the index (vectors at its precision and the graph) to a file. */
  save(path: string): void {
    try {
      this.#index.save(path)
    } catch (err) {
      throw wrapError('MAIF_ERR_IO', `the vector index could not be saved to ${path}`, err)
    }
  }

  /** Reads an index written by `save`; `o` must describe it (dims, metric, quantization). */
  static async load(path: string, o: VectorIndexOptions): Promise<VectorIndex> {
    const index = await VectorIndex.create(o)
    try {
      index.#index.load(path)
    } catch (err) {
      throw wrapError('MAIF_ERR_INDEX_STALE', `the vector index in ${path} could not be loaded`, err)
    }
    if (index.#index.dimensions() !== o.dims) throw new MaifError('MAIF_ERR_INDEX_STALE', `the vector index in ${path} has ${index.#index.dimensions()} dimensions, not ${o.dims}`)
    return index
  }

  /** The k nearest vectors to `query`. */
  search(query: Float32Array, k: number): VectorHits {
    if (query.length !== this.dims) throw new MaifError('MAIF_ERR_SEARCH', `the query has ${query.length} dimensions, the index ${this.dims}`)
    if (this.size === 0) return { ids: [], scores: [] }
    const m = this.#index.search(query, Math.min(k, this.size), 1) as USearch.Matches
    const ids: number[] = []
    const scores: number[] = []
    for (let i = 0; i < m.keys.length; i++) {
      ids.push(Number(m.keys[i]))
      scores.push(score(this.metric, m.distances[i]!))
    }
    return { ids, scores }
  }
}

/** Exact k nearest neighbours by brute force (usearch's SIMD scan), for ground truth and small sets. */
export async function exactNeighbours(data: Float32Array, dims: number, query: Float32Array, k: number, metric: Metric): Promise<VectorHits> {
  const u = await usearch()
  const n = data.length / dims
  if (n === 0) return { ids: [], scores: [] }
  // usearch 2.25's exactSearch reads a typed array from the start of its buffer, ignoring a view's offset:
  // views are copied first.
  const own = (a: Float32Array): Float32Array => (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : a.slice())
  const m = u.exactSearch(own(data), own(query), dims, Math.min(k, n), METRIC_KIND[metric] as USearch.MetricKind, 1) as USearch.Matches
  return { ids: Array.from(m.keys, Number), scores: Array.from(m.distances, (d) => score(metric, d)) }
}
