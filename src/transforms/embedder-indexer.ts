// Transform `embed-index`: embeds a text field of each record and emits, right after each batch, one EMBD
// block holding the batch's embeddings (docs/FORMAT.md §5.7), linked to their records by position and by
// the SHA-256 of each record's bytes. The HNSW index is not built here (a transform sees one batch at a
// time): the container sink stores it at the end of the run (sinks/container/store-index.ts), `maif index`
// stores it afterwards, and a search without one builds it from the EMBD blocks (core/semantic/search.ts).
//
// A transform sees one batch at a time and cannot buffer across batches, so each source batch gets its own
// EMBD block (one small block per small batch on a slow input).
import pLimit from 'p-limit'
import { z } from 'zod'
import { resolve } from 'node:path'
import { awsOptionsSchema } from '../core/aws/config.js'
import { MaifError } from '../core/errors.js'
import { defineTransform } from '../core/runtime/component.js'
import type { Batch, LinesBatch } from '../core/runtime/types.js'
import { embedderFor, type EmbedderConfig } from '../core/semantic/embedder.js'
import { encodeEmbeddings, recordHash, METRICS } from '../core/semantic/embd.js'
import { parseFieldPath, textAt } from '../core/semantic/field.js'
import { DTYPES } from '../core/semantic/codecs.js'

const embedderShape = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('hashing').describe('feature hashing of word and character n-grams: local, deterministic, lexical'),
    wordNgrams: z.int().min(0).max(4).describe('word n-grams from 1 to this (default 2)').optional(),
    charNgrams: z.tuple([z.int().min(0).max(8), z.int().min(0).max(8)]).describe('character n-gram lengths [min, max] inside words (default [3, 5]; [0, 0] for none)').optional(),
  }),
  z.strictObject({
    type: z.literal('onnx').describe('a sentence-embedding model from a local directory (never downloaded), run on the CPU with mean pooling'),
    model: z.string().min(1).describe('the model directory: config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx (a Hugging Face export); relative to the working directory'),
    batchSize: z.int().min(1).max(4096).describe('texts per inference call (default 32)').optional(),
    concurrency: z.int().min(1).max(16).describe('inference calls in flight (default 1)').optional(),
  }),
  z.strictObject({
    type: z.literal('bedrock').describe('Amazon Titan Text Embeddings or Cohere Embed through AWS Bedrock InvokeModel'),
    modelId: z.string().min(1).describe('e.g. amazon.titan-embed-text-v2:0, cohere.embed-english-v3, cohere.embed-v4:0 (or an inference profile / ARN)'),
    region: z.string().min(1).describe('AWS region (same as aws.region)').optional(),
    aws: awsOptionsSchema.describe('region / endpoint overrides (default: the SDK\'s AWS_REGION, AWS_ENDPOINT_URL_BEDROCK_RUNTIME, …)').optional(),
    concurrency: z.int().min(1).max(64).describe('InvokeModel calls in flight (default 4)').optional(),
  }),
])

export const embedderIndexer = defineTransform({
  type: 'embed-index',
  unique: true,
  description: 'embed a text field of each record into EMBD blocks that `maif search` indexes',
  options: {
    field: z.string().min(1).describe('the text to embed: a field (text), a dotted path (message.content) or a JSONPath ($.messages[0].content); default: text, or the whole line for text records').optional(),
    embedder: embedderShape.describe('the embedding model (default { type: hashing })').optional(),
    dims: z.int().min(2).max(65536).describe('embedding dimensions (hashing: default 384; bedrock: the model\'s default; onnx: the model\'s, which this must equal if set)').optional(),
    dtype: z.enum(DTYPES).describe('how vectors are stored: float32 (default), float16 (2×smaller) or int8 (scalar-quantised, ~4× smaller)').optional(),
    index: z.strictObject({
      type: z.literal('hnsw'),
      metric: z.enum(METRICS).describe('cosine (default), ip or l2').optional(),
      m: z.int().min(2).max(256).describe('HNSW graph degree (default 16)').optional(),
      efConstruction: z.int().min(8).max(4096).describe('HNSW build candidate list (default 128)').optional(),
    }).describe('how a search indexes these embeddings').optional(),
    batchSize: z.int().min(1).max(65536).describe('texts per embedding call (default 256)').optional(),
    concurrency: z.int().min(1).max(64).describe('embedding calls in flight per batch (default 2)').optional(),
  },
  lint({ self, transforms, sinks, report }) {
    const at = transforms.indexOf(self)
    const later = transforms.slice(at + 1).find((t) => t.stage === 'record')
    if (later) {
      report({ rule: 'order/embed-index-last', message: `'${later.type}' comes after 'embed-index': an EMBD block links to the records of the batch before it by position, so no record transform may change that batch afterwards`, hint: `move 'embed-index' below '${later.type}'` })
    }
    for (const s of sinks) {
      if (s.type !== 'container') report({ severity: 'warning', rule: 'embed-index/sink', path: s.path, message: `sink '${s.type}' receives the EMBD blocks of 'embed-index' as binary records`, hint: 'embeddings are meant for container sinks; line sinks (file, stdout) refuse binary records' })
    }
  },
  async check(o, ctx) {
    // `maif validate`: the model directory holds what the ONNX embedder needs (it is not loaded here).
    if (o.embedder?.type === 'onnx') await (await import('../core/semantic/onnx.js')).modelFiles(resolve(ctx.cwd, o.embedder.model))
  },
  async build(o, ctx) {
    let config = (o.embedder ?? { type: 'hashing' }) as EmbedderConfig
    if (config.type === 'onnx') config = { ...config, model: resolve(ctx.cwd, config.model) }
    // Loaded here, so that a missing model or a wrong option fails the run before any record is read.
    const embedder = await embedderFor(config, o.dims)
    const path = o.field === undefined ? undefined : parseFieldPath(o.field)
    const index = { metric: o.index?.metric ?? 'cosine', m: o.index?.m ?? 16, efConstruction: o.index?.efConstruction ?? 128 } as const
    const batchSize = o.batchSize ?? 256
    const limit = pLimit(o.concurrency ?? 2)
    return {
      async transform(batch: Batch): Promise<Batch[]> {
        if (batch.kind !== 'lines' || batch.derived || batch.count === 0) return [batch]
        const { texts, ordinals, hashes } = textsOf(batch, path)
        const rows = new Float32Array(texts.length * embedder.dims)
        const calls: Promise<void>[] = []
        for (let i = 0; i < texts.length; i += batchSize) {
          calls.push(limit(async () => {
            const part = await embedder.embed(texts.slice(i, i + batchSize))
            if (part.length !== Math.min(batchSize, texts.length - i) * embedder.dims) throw new MaifError('MAIF_ERR_EMBEDDING', `embedder ${embedder.id} returned ${part.length} values for ${Math.min(batchSize, texts.length - i)} texts of ${embedder.dims} dimensions`)
            rows.set(part, i * embedder.dims)
          }))
        }
        await Promise.all(calls)
        // Texts with no features (punctuation only) embed as zeros: they are left out, not indexed as noise.
        const keep: number[] = []
        for (let i = 0; i < texts.length; i++) if (rows.subarray(i * embedder.dims, (i + 1) * embedder.dims).some((x) => x !== 0)) keep.push(i)
        if (keep.length === 0) return [batch]
        const vectors = new Float32Array(keep.length * embedder.dims)
        keep.forEach((k, j) => vectors.set(rows.subarray(k * embedder.dims, (k + 1) * embedder.dims), j * embedder.dims))
        const payload = encodeEmbeddings({
          model: embedder.id, dims: embedder.dims, normalized: embedder.normalized, index, batchRecords: batch.count, dtype: o.dtype ?? 'float32',
          ordinals: Uint32Array.from(keep, (k) => ordinals[k]!), hashes: Buffer.concat(keep.map((k) => hashes[k]!)), vectors,
        })
        // The EMBD record counts as the batch's first source record: until it is durable, none of the batch
        // is acknowledged, so a restart replays the records together with their embeddings.
        const origin = Uint32Array.of(batch.origin ? batch.origin[0]! : 0)
        return [batch, {
          kind: 'binary', format: 'binary', count: 1, ack: batch.ack, origin, derived: true, blockType: 'EMBD',
          pieces: [{ data: payload, meta: { model: embedder.id, dims: embedder.dims, embeddings: keep.length, ...(o.dtype && o.dtype !== 'float32' ? { dtype: o.dtype } : {}) } }],
        }]
      },
      async close() {
        await embedder.close?.()
      },
    }
  },
})

/** The text of each record that has one, with its ordinal in the batch and the hash of its bytes. */
function textsOf(batch: LinesBatch, path: ReturnType<typeof parseFieldPath> | undefined): { texts: string[]; ordinals: number[]; hashes: Buffer[] } {
  const texts: string[] = []
  const ordinals: number[] = []
  const hashes: Buffer[] = []
  const data = batch.data
  const json = batch.format === 'json'
  const field = path ?? (json ? ['text'] : undefined)
  let start = 0
  for (let nl = data.indexOf(0x0a), i = 0; nl !== -1; nl = data.indexOf(0x0a, start), i++) {
    const raw = data.subarray(start, nl)
    start = nl + 1
    let text: string | undefined
    if (!json && field === undefined) text = raw.toString('utf8')
    else {
      let value: unknown
      try {
        value = JSON.parse(raw.toString('utf8'))
      } catch {
        continue // not JSON: the record is kept, just not embedded (a jsonl source has already dead-lettered bad lines)
      }
      text = textAt(value, field!)
    }
    if (text === undefined || text.length === 0) continue
    texts.push(text)
    ordinals.push(i)
    hashes.push(recordHash(raw))
  }
  return { texts, ordinals, hashes }
}
