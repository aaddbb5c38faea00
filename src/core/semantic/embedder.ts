// Embedders turn texts into vectors. Every embedder has a stable `id` that names the model and every
// parameter that changes its output, recorded with each embedding block, so that a query is embedded by the
// same model as the data it searches (a search refuses a mismatch instead of comparing unrelated vectors).
import { MaifError } from '../errors.js'
import { HashingEmbedder, parseHashingId, type HashingOptions } from './hashing.js'

export interface Embedder {
  /** The model and its parameters, e.g. `maif-hashing-v1:d=384,w=2,c=3-5`. */
  readonly id: string
  readonly dims: number
  /** Whether rows are L2-normalised (cosine and inner product then rank alike). */
  readonly normalized: boolean
  /**
   * Embeds texts: `texts.length × dims` float32 values, row-major. A row of zeros means the text had
   * nothing to embed (no word or character features).
   */
  embed(texts: readonly string[]): Promise<Float32Array>
}

/** What a pipeline definition can name. Only `hashing` is built in; see `embedderFor`. */
export type EmbedderConfig =
  | ({ type: 'hashing' } & HashingOptions)
  | { type: 'onnx'; model: string }
  | { type: 'bedrock'; modelId: string; region?: string }

/**
 * The embedder a definition names. ONNX and Bedrock embedders are declared (so that a definition can name
 * them and a build can add them) but not implemented here: naming one fails with
 * MAIF_ERR_EMBEDDER_UNAVAILABLE rather than falling back to another model, which would make every later
 * search compare vectors of different models.
 */
export function embedderFor(c: EmbedderConfig, dims?: number): Embedder {
  switch (c.type) {
    case 'hashing': {
      const { type: _t, ...o } = c
      return new HashingEmbedder({ ...o, ...(dims === undefined ? {} : { dims }) })
    }
    case 'onnx':
      throw new MaifError('MAIF_ERR_EMBEDDER_UNAVAILABLE', `embedder 'onnx' (model ${c.model}) is not available in this build: maif ships no ONNX runtime yet; use embedder type 'hashing'`)
    case 'bedrock':
      throw new MaifError('MAIF_ERR_EMBEDDER_UNAVAILABLE', `embedder 'bedrock' (model ${c.modelId}) is not available in this build: the Bedrock client is not wired in yet; use embedder type 'hashing'`)
  }
}

/** The embedder that produced vectors with this id, to embed a query the same way. */
export function embedderFromId(id: string): Embedder {
  const h = parseHashingId(id)
  if (h) return new HashingEmbedder(h)
  throw new MaifError('MAIF_ERR_EMBEDDER_UNAVAILABLE', `the embeddings were made by model '${id}', which this build cannot run to embed a query`)
}
