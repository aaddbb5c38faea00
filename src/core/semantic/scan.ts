// The scan behind search: the blocks of a verified container in file order, records held until the EMBD
// block that embeds them, each embedding checked against its record (position and SHA-256), the vectors added
// to an HNSW index in large batches, and the stored index (XVIX) checked and loaded in place of those before it.
import { MaifError } from '../errors.js'
import { FLAG_CONTINUES } from '../format/format.js'
import type { KeyObject } from 'node:crypto'
import { ContainerReader } from '../container/reader.js'
import type { OpenSourceOptions } from '../format/open-source.js'
import { decodeEmbeddings, recordHash, type EmbeddingBlock, type IndexParams } from './embd.js'
import { VectorIndex } from './vector-index.js'
import { INDEX_BLOCK_TYPE, StoredIndexReader } from './stored-index.js'

/** Which source blocks' records a search considers (their public metadata). */
export interface SearchFilter {
  /** Source block type: JSON or TEXT. */
  type?: string
  agent?: string
  /** Classification label. */
  label?: string
  /** Only blocks whose records may be this recent or later (Unix ms; the block's lastMs). */
  since?: number
  /** Only blocks whose records may be this old or earlier (Unix ms; the block's firstMs). */
  until?: number
}

/** What the scan needs of the search options. */
export interface ScanOptions {
  filter?: SearchFilter
  model?: string
  efSearch?: number
  index?: Partial<IndexParams>
}

interface Pending { seq: number; idx: number; raw: Buffer; pub: Record<string, unknown>; type: string }

/** Records kept while waiting for the EMBD block that embeds them: beyond this, older ones cannot be linked. */
const MAX_PENDING_BYTES = 256 << 20
/** Vectors added to the index at once. */
const CHUNK = 16384

/** The seqs of the last stored index block (its first and last segment), from the container's signed index. */
export async function lastIndexBlock(path: string, opts: { pinned?: readonly KeyObject[]; maxBoxBytes?: number; s3?: OpenSourceOptions['s3'] }): Promise<{ first: number; last: number } | undefined> {
  const reader = await ContainerReader.open(path, { ...(opts.s3 ? { s3: opts.s3 } : {}), ...(opts.pinned ? { pinned: opts.pinned } : {}), ...(opts.maxBoxBytes === undefined ? {} : { maxBoxBytes: opts.maxBoxBytes }) })
  try {
    const e = reader.entries
    let last = e.length - 1
    while (last >= 0 && !(e[last]!.type === INDEX_BLOCK_TYPE && (e[last]!.flags & FLAG_CONTINUES) === 0)) last--
    if (last < 0) return undefined
    let first = last
    while (first > 0 && e[first - 1]!.type === INDEX_BLOCK_TYPE && (e[first - 1]!.flags & FLAG_CONTINUES) !== 0) first--
    return { first: e[first]!.seq, last: e[last]!.seq }
  } finally {
    await reader.close()
  }
}

export function splitRecords(data: Buffer): Buffer[] {
  const out: Buffer[] = []
  let start = 0
  for (let nl = data.indexOf(0x0a); nl !== -1; nl = data.indexOf(0x0a, start)) {
    out.push(data.subarray(start, nl))
    start = nl + 1
  }
  return out
}

function matches(f: SearchFilter | undefined, type: string, pub: Record<string, unknown>): boolean {
  if (!f) return true
  if (f.type !== undefined && f.type !== type) return false
  if (f.agent !== undefined && pub.agent !== f.agent) return false
  if (f.label !== undefined && pub.label !== f.label) return false
  if (f.since !== undefined && !(typeof pub.lastMs === 'number' && pub.lastMs >= f.since)) return false
  if (f.until !== undefined && !(typeof pub.firstMs === 'number' && pub.firstMs <= f.until)) return false
  return true
}

/** Gathers, from the blocks in file order, the embeddings and the records they link to. */
export class Builder {
  model: string | undefined
  dims: number | undefined
  params: IndexParams | undefined
  readonly #opts: ScanOptions
  #pending: Pending[] = []
  #pendingBytes = 0
  #embd: Buffer[] = []
  #embdSeq = -1
  // Ids are positions in these growing arrays; vectors wait in chunks until the index exists.
  #seqs = new Uint32Array(1024)
  #recs = new Uint32Array(1024)
  #hashes = Buffer.alloc(1024 * 32)
  #n = 0
  #chunks: Float32Array[] = []
  #rows = 0
  /** Only check the embeddings against their records; keep no vectors and build no index. */
  checkOnly = false
  get count(): number { return this.#n }
  /** Data blocks handed over (opened); fewer than the container has means some could not be decrypted. */
  delivered = 0
  index: VectorIndex | undefined

  readonly #stored: { first: number; last: number } | undefined
  #storedReader: StoredIndexReader | undefined
  /** The seq of the stored index block in use, once it has been checked and loaded. */
  adoptedAt: number | undefined

  constructor(opts: ScanOptions, stored: { first: number; last: number } | undefined) {
    this.#opts = opts
    this.#stored = stored
  }

  /** Vectors wait for the stored index (they are in it) until it is loaded. */
  get #deferred(): boolean {
    return this.#stored !== undefined && this.adoptedAt === undefined
  }

  async block(seq: number, type: string, flags: number, pub: Record<string, unknown>, data: Buffer): Promise<void> {
    this.delivered++
    if (type === INDEX_BLOCK_TYPE) {
      if (!this.#stored || seq < this.#stored.first || seq > this.#stored.last) return
      this.#storedReader ??= new StoredIndexReader()
      await this.#storedReader.push(data)
      if (seq === this.#stored.last) await this.#adopt(this.#stored.first)
      return
    }
    if (type === 'JSON' || type === 'TEXT') {
      let idx = 0
      for (const raw of splitRecords(data)) {
        this.#pending.push({ seq, idx: idx++, raw, pub, type })
        this.#pendingBytes += raw.length
      }
      while (this.#pendingBytes > MAX_PENDING_BYTES && this.#pending.length > 0) this.#pendingBytes -= this.#pending.shift()!.raw.length
      return
    }
    if (type !== 'EMBD') return
    if (this.#embd.length === 0) this.#embdSeq = seq
    this.#embd.push(data)
    if ((flags & FLAG_CONTINUES) !== 0) return
    const payload = this.#embd.length === 1 ? this.#embd[0]! : Buffer.concat(this.#embd)
    this.#embd = []
    await this.#add(decodeEmbeddings(payload, `EMBD block #${this.#embdSeq}`), this.#embdSeq)
  }

  async #add(e: EmbeddingBlock, at: number): Promise<void> {
    const pending = this.#pending
    this.#pending = []
    this.#pendingBytes = 0
    if (this.#opts.model !== undefined && e.model !== this.#opts.model) return
    if (this.model === undefined) {
      this.model = e.model
      this.dims = e.dims
      this.params = { ...e.index, ...this.#opts.index }
    } else if (e.model !== this.model || e.dims !== this.dims) {
      throw new MaifError('MAIF_ERR_SEARCH', `EMBD block #${at} holds ${e.model} (${e.dims} dims), earlier ones ${this.model} (${this.dims} dims): choose one with the model option (--model)`, { seq: at })
    }
    if (e.batchRecords > pending.length) throw new MaifError('MAIF_ERR_EMBEDDING', `EMBD block #${at} embeds a batch of ${e.batchRecords} records, but only ${pending.length} precede it`, { seq: at })
    const base = pending.length - e.batchRecords
    const keep: number[] = []
    for (let i = 0; i < e.ordinals.length; i++) {
      const r = pending[base + e.ordinals[i]!]!
      if (!recordHash(r.raw).equals(e.hashes.subarray(i * 32, i * 32 + 32))) {
        throw new MaifError('MAIF_ERR_EMBEDDING', `EMBD block #${at}: embedding ${i} does not match record ${r.idx} of block #${r.seq}`, { seq: at })
      }
      if (matches(this.#opts.filter, r.type, r.pub)) keep.push(i)
    }
    if (keep.length === 0) return
    if (this.checkOnly) {
      this.#n += keep.length
      return
    }
    if (!this.#deferred) this.index ??= await this.#create()
    this.#grow(this.#n + keep.length)
    const vectors = new Float32Array(keep.length * e.dims)
    keep.forEach((i, j) => {
      const r = pending[base + e.ordinals[i]!]!
      this.#seqs[this.#n + j] = r.seq
      this.#recs[this.#n + j] = r.idx
      e.hashes.copy(this.#hashes, (this.#n + j) * 32, i * 32, i * 32 + 32)
      vectors.set(e.vectors.subarray(i * e.dims, (i + 1) * e.dims), j * e.dims)
    })
    this.#n += keep.length
    if (this.#deferred) return
    this.#chunks.push(vectors)
    this.#rows += keep.length
    if (this.#rows >= CHUNK) this.flush()
  }

  #grow(n: number): void {
    if (n <= this.#seqs.length) return
    const cap = Math.max(n, this.#seqs.length * 2)
    const seqs = new Uint32Array(cap); seqs.set(this.#seqs); this.#seqs = seqs
    const recs = new Uint32Array(cap); recs.set(this.#recs); this.#recs = recs
    const hashes = Buffer.alloc(cap * 32); this.#hashes.copy(hashes); this.#hashes = hashes
  }

  #create(): Promise<VectorIndex> {
    const p = this.params!
    return VectorIndex.create({ dims: this.dims!, metric: p.metric, m: p.m, efConstruction: p.efConstruction, ...(this.#opts.efSearch ? { efSearch: this.#opts.efSearch } : {}) })
  }

  /** Loads the stored index once its map is checked against the one rebuilt from the EMBD blocks before it. */
  async #adopt(at: number): Promise<void> {
    const r = this.#storedReader!
    await r.finish()
    const h = r.header!
    const map = r.map!
    const stale = (why: string): never => { throw new MaifError('MAIF_ERR_INDEX_STALE', `the stored index (block #${at}) ${why}; store a new one with 'maif index FILE', or search without it (storedIndex: false)`, { seq: at }) }
    if (h.count !== this.#n) stale(`holds ${h.count} embeddings, but ${this.#n} precede it`)
    if (h.count > 0 && (h.model !== this.model || h.dims !== this.dims)) stale(`is of ${h.model} (${h.dims} dims), the embeddings of ${this.model} (${this.dims} dims)`)
    for (let i = 0; i < h.count; i++) {
      if (map.seqs[i] !== this.#seqs[i] || map.recs[i] !== this.#recs[i]) stale(`maps id ${i} to record ${map.recs[i]} of block #${map.seqs[i]}, the embeddings to record ${this.#recs[i]} of block #${this.#seqs[i]}`)
    }
    if (!map.hashes.equals(this.#hashes.subarray(0, h.count * 32))) stale('does not link to the same records (their hashes differ)')
    if (h.count > 0) {
      this.params = { metric: h.metric, m: h.m, efConstruction: h.efConstruction }
      this.index = await VectorIndex.load(r.file!, { dims: h.dims, metric: h.metric, m: h.m, efConstruction: h.efConstruction, ...(this.#opts.efSearch ? { efSearch: this.#opts.efSearch } : {}) })
      if (this.index.size !== h.count) stale(`loads ${this.index.size} vectors, its header says ${h.count}`)
    }
    this.adoptedAt = at
    await this.dispose()
  }

  /** After the scan: every vector is in the index, and a stored index that was expected was found. */
  async finish(): Promise<void> {
    if (this.#deferred) throw new MaifError('MAIF_ERR_INDEX_STALE', 'the container changed while it was opened (its stored index block was not where its index said); open it again')
    if (this.checkOnly) return
    if (this.model !== undefined) this.index ??= await this.#create()
    this.flush()
  }

  async dispose(): Promise<void> {
    await this.#storedReader?.dispose()
    this.#storedReader = undefined
  }

  /** Moves the gathered vectors into the index: usearch adds a large batch on several threads at once. */
  flush(): void {
    if (this.#rows === 0) return
    const all = new Float32Array(this.#rows * this.dims!)
    let o = 0
    for (const c of this.#chunks) { all.set(c, o); o += c.length }
    const first = this.#n - this.#rows
    this.index!.add(Array.from({ length: this.#rows }, (_, i) => first + i), all)
    this.#chunks = []
    this.#rows = 0
  }

  seqs(): Uint32Array { return this.#seqs.subarray(0, this.#n) }
  recs(): Uint32Array { return this.#recs.subarray(0, this.#n) }
  hashes(): Buffer { return this.#hashes.subarray(0, this.#n * 32) }
}
