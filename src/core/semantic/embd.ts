// The payload of an EMBD block (docs/FORMAT.md §5.7): the embeddings of one batch of records, each linked to
// its source record by position and by the SHA-256 of the record's bytes. Integers are big-endian like the
// rest of the format; vector components are little-endian IEEE 754 float32, so that a reader on a
// little-endian machine can view them without conversion.
import { createHash } from 'node:crypto'
import { MaifError } from '../errors.js'
import { DTYPES, readVectors, vectorBytes, writeVectors, type Dtype } from './codecs.js'

export const EMBD_MAGIC = Buffer.from('MEV1', 'ascii')
/** Component types by code: 1 float32, 2 float16, 3 int8 with a float32 scale per vector. */
export const DTYPE_CODES: Record<Dtype, number> = { float32: 1, float16: 2, int8: 3 }
export const METRICS = ['cosine', 'ip', 'l2'] as const
export type Metric = (typeof METRICS)[number]

/** How the writer asked the vectors to be indexed; a search builds its index with these. */
export interface IndexParams {
  metric: Metric
  /** HNSW graph degree. */
  m: number
  /** HNSW candidate list size while building. */
  efConstruction: number
}

export interface EmbeddingBlock {
  model: string
  dims: number
  normalized: boolean
  index: IndexParams
  /**
   * How many records the batch had: they are the last `batchRecords` records of the JSON and TEXT blocks
   * before this block, in the same session (the transform emits this block right after them).
   */
  batchRecords: number
  /** Per embedding: the ordinal of its record in that batch. */
  ordinals: Uint32Array
  /** Per embedding: SHA-256 of its record's bytes (without the newline), 32 bytes each. */
  hashes: Buffer
  /** count × dims, row-major (decoded to float32 whatever the stored component type). */
  vectors: Float32Array
  /** How the vectors are stored (default float32). */
  dtype?: Dtype
}

const FIXED = 4 + 1 + 1 + 1 + 1 + 2 + 2 + 4 + 4 + 4 + 2 // magic … modelLen

export function recordHash(record: Buffer): Buffer {
  return createHash('sha256').update(record).digest()
}

export function encodeEmbeddings(b: EmbeddingBlock): Buffer {
  const count = b.ordinals.length
  if (b.vectors.length !== count * b.dims || b.hashes.length !== count * 32) throw new MaifError('MAIF_ERR_EMBEDDING', 'embedding block: vectors, ordinals and hashes disagree on the count')
  const model = Buffer.from(b.model, 'utf8')
  if (model.length > 0xffff) throw new MaifError('MAIF_ERR_EMBEDDING', 'embedding block: the model id is longer than 65535 bytes')
  const dtype = b.dtype ?? 'float32'
  const out = Buffer.alloc(FIXED + model.length + count * 36 + vectorBytes(dtype, count, b.dims))
  let o = EMBD_MAGIC.copy(out, 0)
  o = out.writeUInt8(DTYPE_CODES[dtype], o)
  o = out.writeUInt8(METRICS.indexOf(b.index.metric) + 1, o)
  o = out.writeUInt8(b.normalized ? 1 : 0, o)
  o = out.writeUInt8(0, o)
  o = out.writeUInt16BE(b.index.m, o)
  o = out.writeUInt16BE(b.index.efConstruction, o)
  o = out.writeUInt32BE(b.dims, o)
  o = out.writeUInt32BE(count, o)
  o = out.writeUInt32BE(b.batchRecords, o)
  o = out.writeUInt16BE(model.length, o)
  o += model.copy(out, o)
  for (let i = 0; i < count; i++) o = out.writeUInt32BE(b.ordinals[i]!, o)
  o += b.hashes.copy(out, o)
  writeVectors(dtype, b.vectors, b.dims, out, o)
  return out
}

export function decodeEmbeddings(buf: Buffer, where = 'embedding block'): EmbeddingBlock {
  const bad = (m: string): never => { throw new MaifError('MAIF_ERR_EMBEDDING', `${where}: ${m}`) }
  if (buf.length < FIXED || !buf.subarray(0, 4).equals(EMBD_MAGIC)) bad('not an embedding payload (bad magic or too short)')
  const dtype = DTYPES[buf.readUInt8(4) - 1]
  if (!dtype) bad(`unsupported component type ${buf.readUInt8(4)} (this reader knows 1 float32, 2 float16, 3 int8)`)
  const metric = METRICS[buf.readUInt8(5) - 1]
  if (!metric) bad(`unknown metric ${buf.readUInt8(5)}`)
  const normalized = buf.readUInt8(6)
  if (normalized > 1 || buf.readUInt8(7) !== 0) bad('reserved bits are set')
  const m = buf.readUInt16BE(8)
  const efConstruction = buf.readUInt16BE(10)
  const dims = buf.readUInt32BE(12)
  const count = buf.readUInt32BE(16)
  const batchRecords = buf.readUInt32BE(20)
  const modelLen = buf.readUInt16BE(24)
  if (dims < 1 || dims > 65536) bad(`dims ${dims} is out of range`)
  const need = FIXED + modelLen + count * 36 + vectorBytes(dtype!, count, dims)
  if (buf.length !== need) bad(`length ${buf.length} does not match its header (${need} for ${count} × ${dims})`)
  let o = FIXED
  const model = buf.toString('utf8', o, o + modelLen)
  o += modelLen
  const ordinals = new Uint32Array(count)
  for (let i = 0; i < count; i++, o += 4) {
    ordinals[i] = buf.readUInt32BE(o)
    if (ordinals[i]! >= batchRecords || (i > 0 && ordinals[i]! <= ordinals[i - 1]!)) bad('record ordinals must increase and lie inside the batch')
  }
  const hashes = Buffer.from(buf.subarray(o, o + count * 32))
  o += count * 32
  const vectors = readVectors(dtype!, buf, o, count, dims)
  return { model, dims, normalized: normalized === 1, index: { metric: metric!, m, efConstruction }, batchRecords, ordinals, hashes, vectors, dtype: dtype! }
}
