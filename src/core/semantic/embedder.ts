// Embedders turn texts into vectors. Every embedder has a stable `id` that names the model and every
// parameter that changes its output, recorded with each embedding block, so that a query is embedded by the
// same model as the data it searches (a search refuses a mismatch instead of comparing unrelated vectors).
//
// Three kinds: `hashing` (built in, local, no model), `onnx` (a sentence-embedding model from a local
// directory, run by transformers.js) and `bedrock` (Titan or Cohere embeddings through AWS Bedrock). The
// last two load their libraries on first use, so importing maif stays fast.
import type { AwsOptions } from '../aws/config.js'
import { MaifError } from '../errors.js'
import { HashingEmbedder, parseHashingId, type HashingOptions } from './hashing.js'

/** What a text is embedded for: some models (Cohere) embed documents and search queries differently. */
export type EmbedPurpose = 'document' | 'query'

export interface Embedder {
  /** The model and its parameters, e.g. `maif-hashing-v1:d=384,w=2,c=3-5`. */
  readonly id: string
  readonly dims: number
  /** Whether rows are L2-normalised (cosine and inner product then rank alike). */
  readonly normalized: boolean
  /**
   * Embeds texts: `texts.length × dims` float32 values, row-major. A row of zeros means the text had
   * nothing to embed (no word or character features). `purpose` defaults to 'document'.
   */
  embed(texts: readonly string[], purpose?: EmbedPurpose): Promise<Float32Array>
  /** Releases what the embedder holds (an inference session, an AWS client). */
  close?(): Promise<void>
}

/** What a pipeline definition can name. */
export type EmbedderConfig =
  | ({ type: 'hashing' } & HashingOptions)
  | { type: 'onnx'; model: string; batchSize?: number; concurrency?: number }
  | { type: 'bedrock'; modelId: string; region?: string; aws?: AwsOptions; concurrency?: number }

/**
 * The embedder a definition names, loaded (an ONNX model is read and its dimensions probed; a missing
 * file is MAIF_ERR_EMBEDDER_UNAVAILABLE). `dims`, when given, is what the caller expects: the hashing and
 * Bedrock embedders make that many, an ONNX model that makes another number is refused.
 */
export async function embedderFor(c: EmbedderConfig, dims?: number): Promise<Embedder> {
  switch (c.type) {
    case 'hashing': {
      const { type: _t, ...o } = c
      return new HashingEmbedder({ ...o, ...(dims === undefined ? {} : { dims }) })
    }
    case 'onnx': {
      const { OnnxEmbedder } = await import('./onnx.js')
      return OnnxEmbedder.load({ model: c.model, ...(c.batchSize === undefined ? {} : { batchSize: c.batchSize }), ...(c.concurrency === undefined ? {} : { concurrency: c.concurrency }), ...(dims === undefined ? {} : { dims }) })
    }
    case 'bedrock': {
      const { BedrockEmbedder } = await import('./bedrock.js')
      const aws = { ...c.aws, ...(c.region === undefined ? {} : { region: c.region }) }
      return new BedrockEmbedder({ modelId: c.modelId, aws, ...(c.concurrency === undefined ? {} : { concurrency: c.concurrency }), ...(dims === undefined ? {} : { dims }) })
    }
  }
}

/** What rebuilding an embedder from an id may need beyond the id. */
export interface EmbedderFromIdOptions {
  /** The directory of the ONNX model that made the embeddings (its files must hash as the id says). */
  modelDir?: string
  /** Region and endpoint for a Bedrock model. */
  aws?: AwsOptions
}

/** The embedder that produced vectors with this id, to embed a query the same way. */
export async function embedderFromId(id: string, o: EmbedderFromIdOptions = {}): Promise<Embedder> {
  const h = parseHashingId(id)
  if (h) return new HashingEmbedder(h)
  if (id.startsWith('onnx:')) {
    const { OnnxEmbedder } = await import('./onnx.js')
    return OnnxEmbedder.forId(id, o.modelDir)
  }
  if (id.startsWith('bedrock:')) {
    const { BedrockEmbedder, parseBedrockId } = await import('./bedrock.js')
    const b = parseBedrockId(id)
    if (b) return new BedrockEmbedder({ modelId: b.modelId, dims: b.dims, ...(o.aws ? { aws: o.aws } : {}) })
  }
  throw new MaifError('MAIF_ERR_EMBEDDER_UNAVAILABLE', `the embeddings were made by model '${id}', which this build cannot run to embed a query`)
}
