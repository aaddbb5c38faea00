// The ONNX embedder: a sentence-embedding model (a Hugging Face export: config.json, tokenizer.json,
// tokenizer_config.json, onnx/model.onnx) run on the CPU by transformers.js over onnxruntime-node, with mean
// pooling and L2 normalisation (what sentence-transformers models such as all-MiniLM-L6-v2 expect).
//
// It only ever reads the directory the user names: remote models are switched off in the library before the
// model loads, and missing files are refused before the library is even loaded (MAIF_ERR_EMBEDDER_UNAVAILABLE,
// naming the files). The id pins the model by the SHA-256 of model.onnx and of tokenizer.json, with the
// dimensions and pooling, so a search over its embeddings must name a directory holding the same files
// (MAIF_ERR_EMBEDDER_MISMATCH otherwise): another model's query vector would be compared with these.
//
// transformers.js (and its native runtime) loads on the first ONNX embedder, not when maif is imported.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { access } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import pLimit from 'p-limit'
import { MaifError } from '../errors.js'
import type { Embedder, EmbedPurpose } from './embedder.js'

export interface OnnxEmbedderOptions {
  /** The model directory (config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx or model.onnx). */
  model: string
  /** Texts per inference call (default 32): a call pads its texts to the longest, so large ones cost memory. */
  batchSize?: number
  /** Inference calls in flight at once (default 1: one call already uses every core). */
  concurrency?: number
  /** The dimensions the caller expects; a model that makes others is refused. */
  dims?: number
  /** The model's name in the id (default: the directory's name); only the hashes and dimensions are checked. */
  name?: string
}

/** What an `onnx:` id records. */
export interface OnnxId {
  name: string
  sha256: string
  tokenizer: string
  dims: number
  pooling: 'mean'
}

const ID_RE = /^onnx:([A-Za-z0-9._-]+):sha256=([0-9a-f]{64}):tok=([0-9a-f]{16}):d=(\d+):pool=(mean)$/

/** Parses an id written by OnnxEmbedder, or null for another kind of model. */
export function parseOnnxId(id: string): OnnxId | null {
  const m = ID_RE.exec(id)
  if (!m) return null
  return { name: m[1]!, sha256: m[2]!, tokenizer: m[3]!, dims: Number(m[4]), pooling: 'mean' }
}

/** The part of transformers.js this module uses (typed here so the library's types stay out of maif's). */
interface Extractor {
  (texts: string[], o: { pooling: 'mean'; normalize: boolean }): Promise<{ dims: number[]; data: ArrayLike<number> }>
  dispose(): Promise<void>
}
interface Transformers {
  env: { allowRemoteModels: boolean; allowLocalModels: boolean; useFSCache: boolean; useBrowserCache: boolean }
  pipeline(task: 'feature-extraction', model: string, o: Record<string, unknown>): Promise<unknown>
}

let library: Promise<Transformers> | undefined

/** Loads transformers.js once, with every remote source switched off. */
function transformers(): Promise<Transformers> {
  library ??= (import('@huggingface/transformers') as Promise<unknown> as Promise<Transformers>).then((m) => {
    m.env.allowRemoteModels = false // never download: a missing file is an error, not a fetch
    m.env.allowLocalModels = true
    m.env.useFSCache = false // nothing is written into node_modules/.cache
    m.env.useBrowserCache = false
    return m
  }, (err: unknown) => {
    library = undefined
    throw new MaifError('MAIF_ERR_EMBEDDER_UNAVAILABLE', `the ONNX embedder needs the package @huggingface/transformers, which did not load: ${(err as Error).message}`, { cause: err })
  })
  return library
}

async function exists(p: string): Promise<boolean> {
  return access(p).then(() => true, () => false)
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer)
  return h.digest('hex')
}

/** The files of a model directory, refused with every missing one named (MAIF_ERR_EMBEDDER_UNAVAILABLE). */
export async function modelFiles(dir: string): Promise<{ onnx: string; subfolder: string }> {
  const missing: string[] = []
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) if (!(await exists(join(dir, f)))) missing.push(f)
  let onnx = join(dir, 'onnx', 'model.onnx')
  let subfolder = 'onnx'
  if (!(await exists(onnx))) {
    onnx = join(dir, 'model.onnx')
    subfolder = ''
    if (!(await exists(onnx))) missing.push('onnx/model.onnx (or model.onnx)')
  }
  if (missing.length > 0) {
    const what = (await exists(dir)) ? `is missing ${missing.join(', ')}` : 'does not exist'
    throw new MaifError('MAIF_ERR_EMBEDDER_UNAVAILABLE', `ONNX model directory ${dir} ${what}: maif never downloads a model; put a sentence-embedding export there (e.g. the files of Xenova/all-MiniLM-L6-v2: config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx)`)
  }
  return { onnx, subfolder }
}

export class OnnxEmbedder implements Embedder {
  readonly id: string
  readonly dims: number
  readonly normalized = true
  /** The directory the model was loaded from. */
  readonly dir: string
  readonly pinned: OnnxId
  readonly #extract: Extractor
  readonly #batch: number
  readonly #limit: ReturnType<typeof pLimit>

  private constructor(dir: string, pinned: OnnxId, extract: Extractor, batch: number, concurrency: number) {
    this.dir = dir
    this.pinned = pinned
    this.dims = pinned.dims
    this.id = `onnx:${pinned.name}:sha256=${pinned.sha256}:tok=${pinned.tokenizer}:d=${pinned.dims}:pool=${pinned.pooling}`
    this.#extract = extract
    this.#batch = batch
    this.#limit = pLimit(concurrency)
  }

  /** Loads the model of a directory (refusing missing files) and finds its dimensions with one probe text. */
  static async load(o: OnnxEmbedderOptions): Promise<OnnxEmbedder> {
    const batch = o.batchSize ?? 32
    const concurrency = o.concurrency ?? 1
    if (!Number.isInteger(batch) || batch < 1) throw new MaifError('MAIF_ERR_INVALID_OPTION', `onnx embedder: batchSize must be a positive integer, got ${batch}`)
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new MaifError('MAIF_ERR_INVALID_OPTION', `onnx embedder: concurrency must be a positive integer, got ${concurrency}`)
    const dir = resolve(o.model)
    const { onnx, subfolder } = await modelFiles(dir)
    const [sha256, tokenizer] = await Promise.all([sha256File(onnx), sha256File(join(dir, 'tokenizer.json'))])
    const lib = await transformers()
    let extract: Extractor
    try {
      extract = await lib.pipeline('feature-extraction', dir, { local_files_only: true, device: 'cpu', dtype: 'fp32', subfolder }) as Extractor
    } catch (err) {
      throw new MaifError('MAIF_ERR_EMBEDDER_UNAVAILABLE', `ONNX model ${dir} did not load: ${(err as Error).message}`, { cause: err })
    }
    // The dimensions come from the model itself, not its config (which some exports leave out or get wrong).
    const probe = await extract(['dimensions'], { pooling: 'mean', normalize: true })
    const dims = probe.dims[probe.dims.length - 1]!
    if (probe.dims.length !== 2 || !Number.isInteger(dims) || dims < 2) {
      await extract.dispose()
      throw new MaifError('MAIF_ERR_EMBEDDER_UNAVAILABLE', `ONNX model ${dir} gives outputs of shape [${probe.dims.join(', ')}] after mean pooling, not [texts, dimensions]: it is not a sentence-embedding model`)
    }
    if (o.dims !== undefined && o.dims !== dims) {
      await extract.dispose()
      throw new MaifError('MAIF_ERR_INVALID_OPTION', `ONNX model ${dir} makes ${dims}-dimensional embeddings, but ${o.dims} were asked for: drop 'dims' or set it to ${dims}`)
    }
    const name = ((o.name ?? basename(dir)).replace(/[^A-Za-z0-9._-]/g, '_') || 'model')
    return new OnnxEmbedder(dir, { name, sha256, tokenizer: tokenizer.slice(0, 16), dims, pooling: 'mean' }, extract, batch, concurrency)
  }

  /**
   * Loads the model of a directory to embed queries for embeddings made with `id`, refusing a directory
   * whose files or dimensions differ from those the id pins (its name may differ: a copy elsewhere is fine).
   */
  static async forId(id: string, dir: string | undefined, o: Omit<OnnxEmbedderOptions, 'model' | 'dims'> = {}): Promise<OnnxEmbedder> {
    const want = parseOnnxId(id)
    if (!want) throw new MaifError('MAIF_ERR_EMBEDDER_UNAVAILABLE', `'${id}' is not an ONNX embedder id`)
    if (dir === undefined) throw new MaifError('MAIF_ERR_EMBEDDER_UNAVAILABLE', `the embeddings were made by the ONNX model '${want.name}' (model.onnx sha256 ${want.sha256}): name its directory to embed the query (maif search --model-dir DIR, or the modelDir option)`)
    // The id of the embeddings is kept whole: a copy of the model under another directory name is the same model.
    const e = await OnnxEmbedder.load({ ...o, model: dir, name: want.name })
    const got = e.pinned
    const diff = got.sha256 !== want.sha256 ? `its model.onnx has sha256 ${got.sha256}, the embeddings' model ${want.sha256}`
      : got.tokenizer !== want.tokenizer ? `its tokenizer.json differs (sha256 ${got.tokenizer}…, the embeddings' ${want.tokenizer}…)`
      : got.dims !== want.dims ? `it makes ${got.dims} dimensions, the embeddings have ${want.dims}` : undefined
    if (diff !== undefined) {
      await e.close()
      throw new MaifError('MAIF_ERR_EMBEDDER_MISMATCH', `ONNX model directory ${e.dir} is not the model that made these embeddings ('${want.name}'): ${diff}`)
    }
    return e
  }

  async embed(texts: readonly string[], _purpose?: EmbedPurpose): Promise<Float32Array> {
    const out = new Float32Array(texts.length * this.dims)
    const calls: Promise<void>[] = []
    for (let i = 0; i < texts.length; i += this.#batch) {
      const part = texts.slice(i, i + this.#batch)
      calls.push(this.#limit(async () => {
        const t = await this.#extract(part, { pooling: 'mean', normalize: true })
        if (t.data.length !== part.length * this.dims) {
          throw new MaifError('MAIF_ERR_EMBEDDER_RESPONSE', `ONNX model ${this.pinned.name} returned ${t.data.length} values for ${part.length} texts of ${this.dims} dimensions`)
        }
        for (let j = 0; j < t.data.length; j++) {
          if (!Number.isFinite(t.data[j]!)) throw new MaifError('MAIF_ERR_EMBEDDER_RESPONSE', `ONNX model ${this.pinned.name} returned a non-finite value for text ${i + Math.floor(j / this.dims)}`)
        }
        out.set(t.data, i * this.dims)
      }))
    }
    await Promise.all(calls)
    return out
  }

  /** Releases the inference session. */
  async close(): Promise<void> {
    await this.#extract.dispose()
  }
}

