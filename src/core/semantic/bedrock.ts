// The Bedrock embedder: Amazon Titan Text Embeddings (v2, v1) and Cohere Embed (v3, v4) through
// InvokeModel of @aws-sdk/client-bedrock-runtime, with the same client settings as every AWS component
// (awsClientConfig: region, endpoint, AWS_ENDPOINT_URL_BEDROCK_RUNTIME, the default credential chain).
//
// Titan embeds one text per call, Cohere up to 96: texts are split into calls of that size and the calls in
// flight are bounded by p-limit. Every answer is checked before it is used (one embedding per text, each of
// the expected length, finite, not all zeros): a model that answers otherwise fails the batch with
// MAIF_ERR_EMBEDDER_RESPONSE naming the model, never a silent zero vector. Rows are L2-normalised here, so
// that cosine and inner product rank alike whatever the model returns (Titan v1 and Cohere do not promise
// unit vectors).
//
// The id `bedrock:<model id>:d=<dims>` names the model and dimensions, so a search embeds its query with the
// same model (embedderFromId rebuilds the embedder from it).
import type * as BedrockRuntime from '@aws-sdk/client-bedrock-runtime'
import type * as HttpHandler from '@smithy/node-http-handler'
import pLimit from 'p-limit'
import { awsClientConfig, type AwsOptions } from '../aws/config.js'
import { MaifError } from '../errors.js'
import { lazyModule } from '../lazy-module.js'
import type { Embedder, EmbedPurpose } from './embedder.js'

/** The SDK, loaded when the first Bedrock embedder is made. */
const bedrockRuntime = lazyModule<typeof BedrockRuntime>('@aws-sdk/client-bedrock-runtime')
const httpHandler = lazyModule<typeof HttpHandler>('@smithy/node-http-handler')

export type BedrockFamily = 'titan-v2' | 'titan-v1' | 'cohere-v3' | 'cohere-v4'

export interface BedrockEmbedderOptions {
  /** A model id, inference profile id or ARN naming a Titan or Cohere embedding model. */
  modelId: string
  /** Output dimensions (Titan v2: 256, 512 or 1024, default 1024; Cohere v4: 256, 512, 1024 or 1536; others: the model's). */
  dims?: number
  /** Region and endpoint (the SDK's environment applies otherwise). */
  aws?: AwsOptions
  /** Calls in flight at once (default 4). */
  concurrency?: number
  /** A client to use instead of one made from `aws` (not closed by close()). */
  client?: BedrockRuntime.BedrockRuntimeClient
}

interface FamilyInfo {
  /** Texts per InvokeModel call. */
  perCall: number
  defaultDims: number
  /** Dimensions the model can be asked for; undefined when it makes one size only (its default). */
  dims?: readonly number[]
}

const FAMILIES: Record<BedrockFamily, FamilyInfo> = {
  'titan-v2': { perCall: 1, defaultDims: 1024, dims: [256, 512, 1024] },
  'titan-v1': { perCall: 1, defaultDims: 1536 },
  'cohere-v3': { perCall: 96, defaultDims: 1024 },
  'cohere-v4': { perCall: 96, defaultDims: 1536, dims: [256, 512, 1024, 1536] },
}

/** Which request and response shapes a model id speaks, or null for a model maif does not know. */
export function bedrockFamily(modelId: string): BedrockFamily | null {
  if (/amazon\.titan-embed-text-v2/.test(modelId)) return 'titan-v2'
  if (/amazon\.titan-embed-text-v1|amazon\.titan-embed-g1-text/.test(modelId)) return 'titan-v1'
  if (/cohere\.embed-v4/.test(modelId)) return 'cohere-v4'
  if (/cohere\.embed-(english|multilingual)-v3/.test(modelId)) return 'cohere-v3'
  return null
}

const ID_RE = /^bedrock:(.+):d=(\d+)$/

/** Parses an id written by BedrockEmbedder, or null for another kind of model. */
export function parseBedrockId(id: string): { modelId: string; dims: number } | null {
  const m = ID_RE.exec(id)
  return m ? { modelId: m[1]!, dims: Number(m[2]) } : null
}

/** The InvokeModel body for some texts (Titan: exactly one). */
export function bedrockRequest(family: BedrockFamily, texts: readonly string[], dims: number, purpose: EmbedPurpose): Record<string, unknown> {
  switch (family) {
    case 'titan-v2':
      return { inputText: texts[0], dimensions: dims, normalize: true }
    case 'titan-v1':
      return { inputText: texts[0] }
    case 'cohere-v3':
    case 'cohere-v4':
      // Cohere embeds documents and queries differently: a search must ask for the query side.
      return {
        texts, input_type: purpose === 'query' ? 'search_query' : 'search_document', truncate: 'END', embedding_types: ['float'],
        ...(family === 'cohere-v4' ? { output_dimension: dims } : {}),
      }
  }
}

/**
 * The embeddings of a documented InvokeModel answer, checked and L2-normalised: Titan's
 * `{ embedding: number[] }` (one text), Cohere's `{ embeddings: number[][] }` or `{ embeddings: { float:
 * number[][] } }`. Anything else (no embedding, a count or length that differs, a non-number, a non-finite
 * value, a zero vector) is MAIF_ERR_EMBEDDER_RESPONSE naming the model.
 */
export function parseBedrockResponse(family: BedrockFamily, modelId: string, body: Uint8Array | string, count: number, dims: number): Float32Array {
  const bad = (why: string): never => { throw new MaifError('MAIF_ERR_EMBEDDER_RESPONSE', `Bedrock model ${modelId} answered without usable embeddings: ${why}`) }
  let json: unknown
  try {
    json = JSON.parse(typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'))
  } catch {
    return bad('the body is not JSON')
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return bad('the body is not a JSON object')
  const o = json as Record<string, unknown>
  let rows: unknown[]
  if (family === 'titan-v2' || family === 'titan-v1') {
    if (!('embedding' in o)) return bad(`no 'embedding' field (got ${describeKeys(o)})`)
    rows = [o.embedding]
  } else {
    const e = o.embeddings
    const list = Array.isArray(e) ? e : (typeof e === 'object' && e !== null && Array.isArray((e as Record<string, unknown>).float)) ? (e as { float: unknown[] }).float : undefined
    if (list === undefined) return bad(`no 'embeddings' list (got ${describeKeys(o)})`)
    rows = list
  }
  if (rows.length !== count) bad(`${rows.length} embeddings for ${count} texts`)
  const out = new Float32Array(count * dims)
  rows.forEach((row, i) => {
    if (!Array.isArray(row)) bad(`embedding ${i} is not a list of numbers`)
    const r = row as unknown[]
    if (r.length !== dims) bad(`embedding ${i} has ${r.length} values, ${dims} were expected`)
    let norm = 0
    for (let j = 0; j < dims; j++) {
      const x = r[j]
      if (typeof x !== 'number' || !Number.isFinite(x)) bad(`embedding ${i} has a non-finite or non-numeric value at ${j}`)
      norm += (x as number) * (x as number)
    }
    if (norm === 0) bad(`embedding ${i} is all zeros`)
    const inv = 1 / Math.sqrt(norm)
    for (let j = 0; j < dims; j++) out[i * dims + j] = (r[j] as number) * inv
  })
  return out
}

function describeKeys(o: Record<string, unknown>): string {
  const keys = Object.keys(o)
  return keys.length === 0 ? 'an empty object' : `fields ${keys.slice(0, 5).join(', ')}`
}

export class BedrockEmbedder implements Embedder {
  readonly id: string
  readonly dims: number
  readonly normalized = true
  readonly modelId: string
  readonly family: BedrockFamily
  readonly #client: BedrockRuntime.BedrockRuntimeClient
  readonly #owned: boolean
  readonly #limit: ReturnType<typeof pLimit>

  constructor(o: BedrockEmbedderOptions) {
    const family = bedrockFamily(o.modelId)
    if (family === null) throw new MaifError('MAIF_ERR_INVALID_OPTION', `bedrock embedder: model '${o.modelId}' is not one maif knows how to call; use an Amazon Titan Text Embeddings (amazon.titan-embed-text-v2:0, …-v1) or Cohere Embed model (cohere.embed-english-v3, cohere.embed-multilingual-v3, cohere.embed-v4:0)`)
    const info = FAMILIES[family]
    const dims = o.dims ?? info.defaultDims
    if (info.dims ? !info.dims.includes(dims) : dims !== info.defaultDims) {
      throw new MaifError('MAIF_ERR_INVALID_OPTION', `bedrock embedder: ${o.modelId} makes ${info.dims ? info.dims.join(', ') : info.defaultDims} dimensions, not ${dims}`)
    }
    const concurrency = o.concurrency ?? 4
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new MaifError('MAIF_ERR_INVALID_OPTION', `bedrock embedder: concurrency must be a positive integer, got ${concurrency}`)
    this.modelId = o.modelId
    this.family = family
    this.dims = dims
    this.id = `bedrock:${o.modelId}:d=${dims}`
    this.#owned = o.client === undefined
    // HTTP/1.1, not the client's default HTTP/2 handler (which only the streaming APIs need): InvokeModel is one
    // request and one answer, and endpoints that speak HTTP/1.1 only (proxies, VPC endpoints behind one, test
    // servers) then work too.
    this.#client = o.client ?? new (bedrockRuntime().BedrockRuntimeClient)({ ...awsClientConfig('BEDROCK_RUNTIME', o.aws ?? {}), requestHandler: new (httpHandler().NodeHttpHandler)() })
    this.#limit = pLimit(concurrency)
  }

  async embed(texts: readonly string[], purpose: EmbedPurpose = 'document'): Promise<Float32Array> {
    const { InvokeModelCommand } = bedrockRuntime()
    const out = new Float32Array(texts.length * this.dims)
    const per = FAMILIES[this.family].perCall
    const calls: Promise<void>[] = []
    for (let i = 0; i < texts.length; i += per) {
      const part = texts.slice(i, i + per)
      calls.push(this.#limit(async () => {
        const body = JSON.stringify(bedrockRequest(this.family, part, this.dims, purpose))
        let res: BedrockRuntime.InvokeModelCommandOutput
        try {
          res = await this.#client.send(new InvokeModelCommand({ modelId: this.modelId, contentType: 'application/json', accept: 'application/json', body: Buffer.from(body, 'utf8') }))
        } catch (err) {
          const e = err as { name?: string; message?: string }
          throw new MaifError('MAIF_ERR_EMBEDDER_UNAVAILABLE', `Bedrock InvokeModel on ${this.modelId} failed: ${e.name ?? 'Error'}: ${e.message ?? String(err)}`, { cause: err })
        }
        out.set(parseBedrockResponse(this.family, this.modelId, res.body ?? new Uint8Array(0), part.length, this.dims), i * this.dims)
      }))
    }
    await Promise.all(calls)
    return out
  }

  async close(): Promise<void> {
    if (this.#owned) this.#client.destroy()
  }
}
