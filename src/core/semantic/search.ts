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
import type { KeyProvider } from '../format/keyring.js'
import type { Signer } from '../format/signing.js'
import { writeContainer } from '../container/writer.js'
import { indexBlockStream, type StoredIndexHeader } from './stored-index.js'
import { Builder, lastIndexBlock, splitRecords, type ScanOptions, type SearchFilter } from './scan.js'
import { verifyContainer } from '../container/verify.js'
import { ContainerReader } from '../container/reader.js'
import { recordHash, type IndexParams } from './embd.js'
import { embedderFromId, type Embedder } from './embedder.js'
import type { AwsOptions } from '../aws/config.js'
import type { VectorIndex } from './vector-index.js'
import { isS3Url, parseS3Url, s3Url } from '../aws/s3-url.js'
import type { OpenSourceOptions } from '../format/open-source.js'
import type { S3Client } from '@aws-sdk/client-s3'

export type { SearchFilter } from './scan.js'

export interface SemanticIndexOptions extends ScanOptions {
  keyProvider?: KeyProvider
  pinned?: readonly KeyObject[]
  /** Only records of source blocks that match. */
  filter?: SearchFilter
  /** Use this model's embeddings when a container has several (default: refuse to guess). */
  model?: string
  /** The directory of the ONNX model that made the embeddings, to embed the query (its files must match the model's id). */
  modelDir?: string
  /** Region and endpoint for a Bedrock model that embeds the query. */
  aws?: AwsOptions
  /** An embedder for the query (its id must be the embeddings' model); not closed by the search. */
  embedder?: Embedder
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
  /** How s3:// containers are read (a shared client, chunk sizes). */
  s3?: OpenSourceOptions['s3']
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
  /** Containers searched (several for a directory or an s3:// prefix). */
  containers?: number
}


export class SemanticIndex {
  readonly path: string
  readonly model: string
  readonly metric: IndexParams['metric']
  readonly treeSize: number
  /** The Merkle root (base64) of the checkpoint the index was built from. */
  readonly root: string
  readonly #index: VectorIndex
  /** Made on the first search (an ONNX model loads only then: storing an index never needs it). */
  #embedder: Embedder | undefined
  #ownsEmbedder = false
  readonly #seqs: Uint32Array
  readonly #recs: Uint32Array
  readonly #hashes: Buffer
  readonly #opts: SemanticIndexOptions

  private constructor(path: string, model: string, metric: IndexParams['metric'], treeSize: number, root: string, index: VectorIndex, seqs: Uint32Array, recs: Uint32Array, hashes: Buffer, opts: SemanticIndexOptions) {
    this.path = path
    this.model = model
    this.metric = metric
    this.treeSize = treeSize
    this.root = root
    this.#index = index
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
    const source = opts.s3 ? { s3: opts.s3 } : {}
    let failed: unknown
    const r = await verifyContainer(path, {
      ...source, ...(opts.keyProvider ? { keyProvider: opts.keyProvider } : {}), ...(opts.pinned ? { pinned: opts.pinned } : {}),
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
    const index = new SemanticIndex(path, b.model, b.params!.metric, r.treeSize, r.root ?? '', b.index!, b.seqs(), b.recs(), b.hashes(), opts)
    index.storedFrom = b.adoptedAt
    index.#params = b.params!
    return index
  }

  /**
   * The embedder for queries: the one given (refused unless its id is this index's model), else the model
   * the id names (an ONNX model from opts.modelDir, checked against the id; a Bedrock model through opts.aws).
   */
  async queryEmbedder(): Promise<Embedder> {
    if (this.#embedder) return this.#embedder
    const given = this.#opts.embedder
    if (given && given.id !== this.model) throw new MaifError('MAIF_ERR_EMBEDDER_MISMATCH', `${this.path} was embedded by '${this.model}'; the query embedder is '${given.id}'`)
    const e = given ?? await embedderFromId(this.model, { ...(this.#opts.modelDir === undefined ? {} : { modelDir: this.#opts.modelDir }), ...(this.#opts.aws ? { aws: this.#opts.aws } : {}) })
    if (e.dims !== this.#index.dims) {
      if (!given) await e.close?.()
      throw new MaifError('MAIF_ERR_EMBEDDING', `${this.path}: model ${this.model} makes ${e.dims} dimensions, its EMBD blocks hold ${this.#index.dims}`)
    }
    this.#embedder = e
    this.#ownsEmbedder = !given
    return e
  }

  /** Releases the query embedder this index made (an inference session, an AWS client). */
  async close(): Promise<void> {
    const e = this.#embedder
    this.#embedder = undefined
    if (e && this.#ownsEmbedder) await e.close?.()
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
    const q = await (await this.queryEmbedder()).embed([query], 'query')
    if (q.every((x) => x === 0)) throw new MaifError('MAIF_ERR_SEARCH', `the query '${query}' has nothing to embed (no words or numbers)`)
    const found = this.#index.search(q, k)
    if (found.ids.length === 0) return []
    const reader = await ContainerReader.open(this.path, {
      ...(this.#opts.s3 ? { s3: this.#opts.s3 } : {}), ...(this.#opts.keyProvider ? { keyProvider: this.#opts.keyProvider } : {}), ...(this.#opts.pinned ? { pinned: this.#opts.pinned } : {}),
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
  try {
    return await searchIndex(index, query, opts.k ?? 10)
  } finally {
    await index.close()
  }
}

async function searchIndex(index: SemanticIndex, query: string, k: number): Promise<SearchResult> {
  const hits = await index.search(query, k)
  return { hits, indexed: index.size, model: index.model, metric: index.metric, treeSize: index.treeSize, ...(index.storedFrom === undefined ? {} : { storedIndex: index.storedFrom }) }
}

/**
 * The containers a search covers: files, every *.maif file in a directory, s3:// objects, and every *.maif
 * object under an s3:// prefix (ending in /). Returns them with the S3 client it opened, if any, to close.
 */
async function expandTargets(paths: readonly string[], s3: OpenSourceOptions['s3']): Promise<{ files: string[]; client?: S3Client }> {
  const files: string[] = []
  let client = s3?.client
  let owned: S3Client | undefined
  for (const p of paths) {
    if (isS3Url(p)) {
      const loc = parseS3Url(p)
      if (!loc.isPrefix) { files.push(p); continue }
      const { listObjects, s3Client } = await import('../aws/s3.js')
      if (!client) owned = client = s3Client()
      const found: string[] = []
      for await (const o of listObjects(client, loc.bucket, loc.key)) if (o.key.endsWith('.maif')) found.push(s3Url(loc.bucket, o.key))
      files.push(...found.sort())
    } else if ((await stat(p)).isDirectory()) files.push(...(await readdir(p)).filter((f) => f.endsWith('.maif')).sort().map((f) => join(p, f)))
    else files.push(p)
  }
  return { files, ...(owned ? { client: owned } : {}) }
}

/**
 * Searches several containers (files, every *.maif file in a directory, s3:// objects or every *.maif object
 * under an s3:// prefix) and merges their hits by score. Scores are comparable only within one model and
 * metric, so containers of different ones are refused. Containers are searched one after another: one index
 * is in memory at a time.
 */
export async function searchContainers(paths: readonly string[], query: string, opts: SemanticIndexOptions & { k?: number } = {}): Promise<SearchResult> {
  const { files, client } = await expandTargets(paths, opts.s3)
  try {
    if (files.length === 0) throw new MaifError('MAIF_ERR_SEARCH', `no containers (*.maif) in ${paths.join(', ')}`)
    const s3 = client ? { ...opts.s3, client } : opts.s3
    const k = opts.k ?? 10
    let first: SearchResult | undefined
    let firstFile = ''
    const hits: SearchHit[] = []
    let indexed = 0
    let treeSize = 0
    // One query embedder for every container (an ONNX model loads once), closed at the end unless given.
    let embedder = opts.embedder
    try {
      for (const file of files) {
        const index = await SemanticIndex.open(file, { ...opts, ...(s3 ? { s3 } : {}), ...(first ? { model: first.model } : {}), ...(embedder ? { embedder } : {}) })
        embedder ??= await index.queryEmbedder().catch(async (err: unknown) => { await index.close(); throw err })
        const r = await searchIndex(index, query, k)
        if (first && r.metric !== first.metric) throw new MaifError('MAIF_ERR_SEARCH', `${file} is indexed by ${r.metric}, ${firstFile} by ${first.metric}: their scores do not compare`)
        if (!first) {
          first = r
          firstFile = file
        }
        indexed += r.indexed
        treeSize += r.treeSize
        for (const h of r.hits) hits.push({ ...h, file })
      }
    } finally {
      if (embedder !== opts.embedder) await embedder?.close?.()
    }
    hits.sort((a, b) => b.score - a.score)
    return { hits: hits.slice(0, k), indexed, model: first!.model, metric: first!.metric, treeSize, containers: files.length, ...(files.length === 1 && first!.storedIndex !== undefined ? { storedIndex: first!.storedIndex } : {}) }
  } finally {
    client?.destroy()
  }
}
