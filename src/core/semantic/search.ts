// Semantic search over a container: the EMBD blocks of a verified container are read in file order, each
// embedding is checked against the record it names (position and SHA-256), and the vectors go into an HNSW
// index. When the container stores an index (an XVIX block written by `maif index`), it is loaded instead,
// once its id map equals the one rebuilt from the EMBD blocks before it, and the embeddings after it are
// added. Hits are resolved against the same tree the index was opened from: a container that has changed
// since is refused (MAIF_ERR_INDEX_STALE), never searched with an index of another tree.
import type { KeyObject } from 'node:crypto'
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MaifError } from '../errors.js'
import { FLAG_CONTINUES } from '../format/format.js'
import type { KeyProvider } from '../format/keyring.js'
import type { Signer } from '../format/signing.js'
import { writeContainer } from '../container/writer.js'
import { INDEX_BLOCK_TYPE, StoredIndexReader, indexBlockStream, type StoredIndexHeader } from './stored-index.js'
import { verifyContainer } from '../container/verify.js'
import { ContainerReader } from '../container/reader.js'
import { decodeEmbeddings, recordHash, type EmbeddingBlock, type IndexParams } from './embd.js'
import { embedderFromId, type Embedder } from './embedder.js'
import { VectorIndex } from './vector-index.js'

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

export interface SemanticIndexOptions {
  keyProvider?: KeyProvider
  pinned?: readonly KeyObject[]
  filter?: SearchFilter
  /** Use this model's embeddings when a container has several (default: refuse to guess). */
  model?: string
  /** HNSW candidate list while searching (default 128). */
  efSearch?: number
  /** Override the index the writer asked for (metric, m, efConstruction). */
  index?: Partial<IndexParams>
  maxBoxBytes?: number
  /**
   * Load the vector index stored in the container (the last XVIX block, written by `maif index`) instead of
   * building it again (default true). Ignored with a filter or an index override, which need their own.
   */
  storedIndex?: boolean
}

export interface SearchHit {
  /** Block seq of the record. */
  seq: number
  /** The record's index inside its block. */
  record: number
  score: number
  /** The record (a JSON text or a line of text), as stored. */
  text: string
  /** The container, for searches over several. */
  file?: string
}

export interface SearchResult {
  hits: SearchHit[]
  /** Embeddings indexed (after the filter). */
  indexed: number
  model: string
  metric: IndexParams['metric']
  treeSize: number
  /** The seq of the stored index block the search loaded (absent when it built the index). */
  storedIndex?: number
}

interface Pending { seq: number; idx: number; raw: Buffer; pub: Record<string, unknown>; type: string }

/** Records kept while waiting for the EMBD block that embeds them: beyond this, older ones cannot be linked. */
const MAX_PENDING_BYTES = 256 << 20
/** Vectors added to the index at once. */
const CHUNK = 16384

export class SemanticIndex {
  readonly path: string
  readonly model: string
  readonly metric: IndexParams['metric']
  readonly treeSize: number
  /** The Merkle root (base64) of the checkpoint the index was built from. */
  readonly root: string
  readonly #index: VectorIndex
  readonly #embedder: Embedder
  readonly #seqs: Uint32Array
  readonly #recs: Uint32Array
  readonly #hashes: Buffer
  readonly #opts: SemanticIndexOptions

  private constructor(path: string, model: string, metric: IndexParams['metric'], treeSize: number, root: string, index: VectorIndex, embedder: Embedder, seqs: Uint32Array, recs: Uint32Array, hashes: Buffer, opts: SemanticIndexOptions) {
    this.path = path
    this.model = model
    this.metric = metric
    this.treeSize = treeSize
    this.root = root
    this.#index = index
    this.#embedder = embedder
    this.#seqs = seqs
    this.#recs = recs
    this.#hashes = hashes
    this.#opts = opts
  }

  get size(): number {
    return this.#index.size
  }

  /** Verifies the container (refusing one that does not verify) and indexes its embeddings. */
  static async open(path: string, opts: SemanticIndexOptions = {}): Promise<SemanticIndex> {
    const useStored = opts.storedIndex !== false && opts.filter === undefined && opts.index === undefined
    const b = new Builder(opts, useStored ? await lastIndexBlock(path, opts) : undefined)
    let failed: unknown
    const r = await verifyContainer(path, {
      ...(opts.keyProvider ? { keyProvider: opts.keyProvider } : {}), ...(opts.pinned ? { pinned: opts.pinned } : {}),
      ...(opts.maxBoxBytes === undefined ? {} : { maxBoxBytes: opts.maxBoxBytes }),
      onBlock: async (blk) => {
        try {
          await b.block(blk.seq, blk.type, blk.flags, blk.pub, blk.data)
        } catch (err) {
          failed ??= err // the verifier records it as the container's error and stops; it is thrown as is below
          throw err
        }
      },
    }).finally(() => b.dispose())
    if (failed !== undefined) throw failed
    if (r.ok && b.delivered < r.blocks) {
      // Without a key, encrypted blocks are verified but not opened: searching the rest would silently miss them.
      throw new MaifError('MAIF_ERR_KEY_UNAVAILABLE', `${path} has ${r.blocks - b.delivered} encrypted blocks this search cannot open: pass the keyring that decrypts them (--keyring DIR or MAIF_KEYRING)`)
    }
    if (!r.ok) {
      const e = r.errors[0]!
      throw new MaifError(e.code, `${path} does not verify, so it is not searched: ${e.message}`, { ...(e.offset === undefined ? {} : { offset: e.offset }), ...(e.seq === undefined ? {} : { seq: e.seq }) })
    }
    await b.finish()
    if (b.model === undefined) throw new MaifError('MAIF_ERR_SEARCH', `${path} has no embeddings${opts.model ? ` of model ${opts.model}` : ''}: write it with an 'embed-index' transform`)
    const embedder = embedderFromId(b.model)
    if (embedder.dims !== b.dims) throw new MaifError('MAIF_ERR_EMBEDDING', `${path}: model ${b.model} makes ${embedder.dims} dimensions, its EMBD blocks hold ${b.dims}`)
    const index = new SemanticIndex(path, b.model, b.params!.metric, r.treeSize, r.root ?? '', b.index!, embedder, b.seqs(), b.recs(), b.hashes(), opts)
    index.storedFrom = b.adoptedAt
    index.#params = b.params!
    return index
  }

  /** The seq of the stored index block this index was loaded from, if it was. */
  storedFrom: number | undefined
  #params: IndexParams | undefined

  /**
   * Stores this index in its container as an XVIX block, in a writer session of its own (encrypted when a key
   * provider is given; the container's append rules apply). Searches then load it instead of building it.
   */
  async store(opts: { keyProvider?: KeyProvider; signer: Signer; allowNewSigner?: boolean }): Promise<{ treeSize: number; indexBytes: number; embeddings: number }> {
    const dir = await mkdtemp(join(tmpdir(), 'maif-index-'))
    try {
      const file = join(dir, 'index.usearch')
      this.#index.save(file)
      const header: StoredIndexHeader = {
        model: this.model, dims: this.#index.dims, metric: this.metric, m: this.#params!.m, efConstruction: this.#params!.efConstruction,
        count: this.#seqs.length, treeSize: this.treeSize, root: this.root, indexBytes: (await stat(file)).size,
      }
      const commit = await writeContainer(this.path, indexBlockStream(header, { seqs: this.#seqs, recs: this.#recs, hashes: this.#hashes }, file), {
        signer: opts.signer, writer: 'maif index', ...(opts.keyProvider ? { keyProvider: opts.keyProvider } : { encryption: 'none' }),
        ...(opts.allowNewSigner === undefined ? {} : { allowNewSigner: opts.allowNewSigner }),
      })
      return { treeSize: commit.treeSize, indexBytes: header.indexBytes, embeddings: header.count }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }

  /** The k records nearest to `query`, best first, each read back and checked against its embedding's hash. */
  async search(query: string, k = 10): Promise<SearchHit[]> {
    if (!Number.isInteger(k) || k < 1) throw new MaifError('MAIF_ERR_INVALID_OPTION', `k must be a positive integer, got ${k}`)
    const q = await this.#embedder.embed([query])
    if (q.every((x) => x === 0)) throw new MaifError('MAIF_ERR_SEARCH', `the query '${query}' has nothing to embed (no words or numbers)`)
    const found = this.#index.search(q, k)
    if (found.ids.length === 0) return []
    const reader = await ContainerReader.open(this.path, {
      ...(this.#opts.keyProvider ? { keyProvider: this.#opts.keyProvider } : {}), ...(this.#opts.pinned ? { pinned: this.#opts.pinned } : {}),
      ...(this.#opts.maxBoxBytes === undefined ? {} : { maxBoxBytes: this.#opts.maxBoxBytes }),
    })
    try {
      if (reader.treeSize !== this.treeSize || reader.checkpoint.root.toString('base64') !== this.root) {
        throw new MaifError('MAIF_ERR_INDEX_STALE', `${this.path} has changed since it was indexed (tree size ${this.treeSize} then, ${reader.treeSize} now); open the index again`)
      }
      const blocks = new Map<number, Buffer[]>()
      const hits: SearchHit[] = []
      for (let i = 0; i < found.ids.length; i++) {
        const id = found.ids[i]!
        const seq = this.#seqs[id]!
        let lines = blocks.get(seq)
        if (!lines) {
          lines = splitRecords((await reader.readBlock(seq)).data)
          blocks.set(seq, lines)
        }
        const raw = lines[this.#recs[id]!]
        if (!raw || !recordHash(raw).equals(this.#hashes.subarray(id * 32, id * 32 + 32))) {
          throw new MaifError('MAIF_ERR_EMBEDDING', `record ${this.#recs[id]} of block #${seq} does not match its embedding`, { seq })
        }
        hits.push({ seq, record: this.#recs[id]!, score: found.scores[i]!, text: raw.toString('utf8') })
      }
      return hits
    } finally {
      await reader.close()
    }
  }
}

/**
 * Checks that every embedding of a container still matches its source: each EMBD block links to records
 * that precede it, whose bytes hash to what it recorded (and the EMBD blocks are covered by the signed
 * checkpoints like any block). Throws MAIF_ERR_EMBEDDING at the first mismatch; the container must verify.
 */
export async function checkEmbeddings(path: string, opts: Pick<SemanticIndexOptions, 'keyProvider' | 'pinned' | 'maxBoxBytes'> = {}): Promise<{ embeddings: number; models: string[] }> {
  const b = new Builder({}, undefined)
  b.checkOnly = true
  const models = new Set<string>()
  let failed: unknown
  const r = await verifyContainer(path, {
    ...(opts.keyProvider ? { keyProvider: opts.keyProvider } : {}), ...(opts.pinned ? { pinned: opts.pinned } : {}),
    ...(opts.maxBoxBytes === undefined ? {} : { maxBoxBytes: opts.maxBoxBytes }),
    onBlock: async (blk) => {
      try {
        await b.block(blk.seq, blk.type, blk.flags, blk.pub, blk.data)
        if (b.model !== undefined) models.add(b.model)
      } catch (err) {
        failed ??= err
        throw err
      }
    },
  })
  if (failed !== undefined) throw failed
  if (!r.ok) throw new MaifError(r.errors[0]!.code, `${path} does not verify: ${r.errors[0]!.message}`)
  if (b.delivered < r.blocks) throw new MaifError('MAIF_ERR_KEY_UNAVAILABLE', `${path} has encrypted blocks: checking its embeddings needs the keyring that decrypts them`)
  return { embeddings: b.count, models: [...models] }
}

/** Opens the index of one container and searches it. */
export async function searchContainer(path: string, query: string, opts: SemanticIndexOptions & { k?: number } = {}): Promise<SearchResult> {
  const index = await SemanticIndex.open(path, opts)
  const hits = await index.search(query, opts.k ?? 10)
  return { hits, indexed: index.size, model: index.model, metric: index.metric, treeSize: index.treeSize, ...(index.storedFrom === undefined ? {} : { storedIndex: index.storedFrom }) }
}

/**
 * Searches several containers (files, or every *.maif file in a directory) and merges their hits by score.
 * Scores are comparable only within one model and metric, so containers of different ones are refused.
 */
export async function searchContainers(paths: readonly string[], query: string, opts: SemanticIndexOptions & { k?: number } = {}): Promise<SearchResult> {
  const files: string[] = []
  for (const p of paths) {
    if ((await stat(p)).isDirectory()) files.push(...(await readdir(p)).filter((f) => f.endsWith('.maif')).sort().map((f) => join(p, f)))
    else files.push(p)
  }
  if (files.length === 0) throw new MaifError('MAIF_ERR_SEARCH', `no containers (*.maif) in ${paths.join(', ')}`)
  const k = opts.k ?? 10
  let first: SearchResult | undefined
  let firstFile = ''
  const hits: SearchHit[] = []
  let indexed = 0
  let treeSize = 0
  for (const file of files) {
    const r = await searchContainer(file, query, { ...opts, ...(first ? { model: first.model } : {}) })
    if (first && r.metric !== first.metric) throw new MaifError('MAIF_ERR_SEARCH', `${file} is indexed by ${r.metric}, ${firstFile} by ${first.metric}: their scores do not compare`)
    if (!first) {
      first = r
      firstFile = file
    }
    indexed += r.indexed
    treeSize += r.treeSize
    for (const h of r.hits) hits.push({ ...h, file })
  }
  hits.sort((a, b) => b.score - a.score)
  return { hits: hits.slice(0, k), indexed, model: first!.model, metric: first!.metric, treeSize }
}

/** The seqs of the last stored index block (its first and last segment), from the container's signed index. */
async function lastIndexBlock(path: string, opts: SemanticIndexOptions): Promise<{ first: number; last: number } | undefined> {
  const reader = await ContainerReader.open(path, { ...(opts.pinned ? { pinned: opts.pinned } : {}), ...(opts.maxBoxBytes === undefined ? {} : { maxBoxBytes: opts.maxBoxBytes }) })
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

function splitRecords(data: Buffer): Buffer[] {
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
class Builder {
  model: string | undefined
  dims: number | undefined
  params: IndexParams | undefined
  readonly #opts: SemanticIndexOptions
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

  constructor(opts: SemanticIndexOptions, stored: { first: number; last: number } | undefined) {
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
