// Block framer: records in, blocks out. Batching by count, bytes and time keeps per-record stream cost
// off the hot path (one Transform hop per block, not per record).
import { Transform, type TransformCallback } from 'node:stream'
import { types } from 'node:util'
import { MaifError } from '../../errors.js'
import { BLOCK_TYPES, FLAG_CONTINUES, isWritableDataType } from '../../format/format.js'
import type { Block } from '../blocks.js'
import type { BlockBuffers } from './block-buffers.js'

export type RecordInput = Buffer | string | Record<string, unknown> | BinaryRecord | LineBatch | BinaryBatchInput
/**
 * Many line records at once: `data` is the records, each ending with '\n' (what a line source reads).
 * `blockType` (else the framer's type, else one from `format`) names the blocks they go into.
 */
export interface LineBatch {
  kind: 'lines'; data: Buffer; count: number; format?: 'json' | 'text'; blockType?: string; offsets?: StreamOffsets
  /** Called once every record of `data` is copied into a block, when nothing here reads `data` any more. */
  releaseData?: () => void
}
/**
 * Where each record of a batch sits in an ordered stream (a Kafka partition's offsets), aligned with its
 * records: each block records the first and last of its records as public metadata `offsets` (FORMAT.md §5.3).
 */
export interface StreamOffsets { stream: string; at: readonly string[] }
/** One binary object, or one piece of it: a caller streaming a large file sends pieces with last: false. */
export interface BinaryRecord { data: Buffer; name?: string; meta?: Record<string, unknown>; last?: boolean }
/** Binary pieces as a batch, as pipeline sources send them. */
export interface BinaryBatchInput { kind: 'binary'; pieces: BinaryRecord[]; blockType?: string; offsets?: StreamOffsets }

const FORMAT_TYPES: Record<string, string> = { json: 'JSON', text: 'TEXT', binary: 'BINA' }

export interface FramerOptions {
  /** 'lines': JSON or text records, one per line; 'binary': each record is its own block (segmented). */
  mode?: 'lines' | 'binary'
  /**
   * FourCC of the blocks. Default: a batch's own `blockType`, else from its format (JSON, TEXT, BINA), else
   * JSON for lines and BINA for binary. A batch's `blockType` wins over this (records another transform typed).
   */
  type?: string
  blockRecords?: number
  blockBytes?: number
  /** Flush a partial block after this many ms without a full one (0 = only on count/bytes/end). */
  blockMs?: number
  /** Segment size for large binary records. */
  segmentBytes?: number
  agent?: string
  label?: string
  contentType?: string
  /** Private metadata (encrypted with the block). */
  priv?: Record<string, unknown>
  /** Clock for record timestamps (Unix ms); injectable for reproducible output. */
  now?: () => number
  /** Recycled memory for block data (the write path shares one with its compressor). */
  buffers?: BlockBuffers
  highWaterMark?: number
}

const NL = Buffer.from('\n')
/** Between two objects of a serialised array: the ',' becomes the newline between their lines. */
const BETWEEN = Buffer.from('},{')
/** About how much JSON text (UTF-16 units) one batch of objects is serialised into. */
const BATCH_CHARS = 64 << 10
const MAX_BATCH = 256
const isRawJSON = (JSON as { isRawJSON?: (v: unknown) => boolean }).isRawJSON

/**
 * True when JSON.stringify surely writes `rec` as `{…}`: then many records can be serialised as one array
 * and cut apart at their `},{`. Arrays, boxed primitives, raw JSON, objects with toJSON and proxies (which
 * could say otherwise) are serialised one by one.
 */
function serialisesAsObject(rec: object): boolean {
  return !Array.isArray(rec) && typeof (rec as { toJSON?: unknown }).toJSON !== 'function' && !types.isBoxedPrimitive(rec) &&
    !types.isProxy(rec) && !(isRawJSON?.(rec) ?? false)
}

function toJsonLine(rec: object): string {
  let text: string | undefined
  try {
    text = JSON.stringify(rec)
  } catch (cause) {
    throw new MaifError('MAIF_ERR_RECORD', `a record could not be serialised as JSON (${(cause as Error).message})`, { cause })
  }
  if (typeof text !== 'string') throw new MaifError('MAIF_ERR_RECORD', 'a record serialised to nothing (its toJSON returned undefined)')
  return text // JSON text never holds a raw newline
}

function positiveInt(name: string, v: number | undefined, def: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return def
  if (!Number.isInteger(v) || v < 1 || v > max) throw new MaifError('MAIF_ERR_INVALID_OPTION', `framer option ${name} must be an integer from 1 to ${max}, got ${String(v)}`)
  return v
}

export class BlockFramer extends Transform {
  readonly #mode: 'lines' | 'binary'
  readonly #type: string
  readonly #explicitType: string | undefined
  /** The type of the line block being gathered: a batch of another type closes it first. */
  #open: string
  readonly #maxRecords: number
  readonly #maxBytes: number
  readonly #segment: number
  readonly #blockMs: number
  readonly #basePub: Record<string, unknown>
  readonly #priv: Record<string, unknown>
  readonly #now: () => number
  #parts: Buffer[] = []
  /** String records are written straight into this buffer as UTF-8 (joining strings per block cost 3×). */
  #text: Buffer | null = null
  /** The text written since the last part was cut from #text (#textStart..#textAt). */
  #textStart = 0
  #textAt = 0
  /** The last part cut from #text: when it is a block's only part, that buffer becomes the block's data. */
  #encoded: Buffer | null = null
  #bytes = 0
  #records = 0
  #firstMs = 0
  #timer: NodeJS.Timeout | undefined
  #segIndex = 0
  readonly #buffers: BlockBuffers | undefined
  /** Earlier text buffers that parts of the open block still point into, until the block is flushed. */
  #lent: ArrayBuffer[] = []
  /** releaseData of the batches whose last records are in the open block (see LineBatch.releaseData). */
  #releases: Array<() => void> = []
  /** Per stream, the first and last offset of the records of the open line block. */
  #ranges = new Map<string, [string, string]>()
  /**
   * Object records not serialised yet. Serialising a few hundred at once as one array costs about a third
   * less than one JSON.stringify each (the per-call string building dominates for small objects). As with any
   * object stream, a record must not be changed after it is written.
   */
  #pending: object[] = []
  /** Serialise the pending objects when there are this many (batch size, held to the block's limits). */
  #serialiseAt = 1
  /** Average JSON length of the objects serialised so far, to size batches; unknown at first. */
  #avgChars = 0
  /** Batches still to serialise one object at a time, after a batch that could not be cut apart. */
  #oneByOne = 0

  constructor(opts: FramerOptions = {}) {
    // Inputs may be single records or ~1 MiB line batches, so the buffer is counted small on both sides.
    super({ writableObjectMode: true, readableObjectMode: true, writableHighWaterMark: opts.highWaterMark ?? 16, readableHighWaterMark: 4 })
    this.#mode = opts.mode ?? 'lines'
    if (this.#mode !== 'lines' && this.#mode !== 'binary') throw new MaifError('MAIF_ERR_INVALID_OPTION', `framer mode must be 'lines' or 'binary'`)
    this.#type = opts.type ?? (this.#mode === 'lines' ? 'JSON' : 'BINA')
    this.#explicitType = opts.type
    this.#open = this.#type
    if (!isWritableDataType(this.#type)) {
      throw new MaifError('MAIF_ERR_INVALID_OPTION', `block type '${this.#type}' is not a data type (use one of ${Object.keys(BLOCK_TYPES).join(', ')} or a vendor type 'X…')`)
    }
    this.#maxRecords = positiveInt('blockRecords', opts.blockRecords, 4096)
    this.#maxBytes = positiveInt('blockBytes', opts.blockBytes, 1 << 20, 1 << 30)
    this.#segment = positiveInt('segmentBytes', opts.segmentBytes, 4 << 20, 1 << 30)
    this.#blockMs = opts.blockMs ?? 0
    if (!Number.isInteger(this.#blockMs) || this.#blockMs < 0) throw new MaifError('MAIF_ERR_INVALID_OPTION', 'framer option blockMs must be a non-negative integer')
    this.#basePub = {}
    if (opts.agent !== undefined) this.#basePub.agent = opts.agent
    if (opts.label !== undefined) this.#basePub.label = opts.label
    if (opts.contentType !== undefined) this.#basePub.contentType = opts.contentType
    this.#priv = opts.priv ?? {}
    this.#now = opts.now ?? Date.now
    this.#buffers = opts.buffers
  }

  /** Takes one record, or an array of records (a batch costs one stream hop instead of one per record). */
  override _transform(rec: RecordInput | RecordInput[], _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      if (Array.isArray(rec)) {
        for (const r of rec) this.#mode === 'binary' ? this.#pushBinary(r, this.#type) : this.#addLine(r)
      } else if (isBinaryBatch(rec)) {
        const type = this.#typeOf(rec.blockType, 'binary')
        let k = 0 // ordinal of the object the piece belongs to (objects ending in this batch)
        for (const p of rec.pieces) {
          // Only an object whole in one piece gets its offset: its first block is the one written here.
          const at = rec.offsets && p.last !== false && this.#segIndex === 0 ? rec.offsets.at[k] : undefined
          this.#pushBinary(p, type, at === undefined ? undefined : [{ stream: rec.offsets!.stream, first: at, last: at }])
          if (p.last !== false) k++
        }
      } else if (this.#mode === 'binary') this.#pushBinary(rec, this.#type)
      else this.#addLine(rec)
      cb()
    } catch (err) {
      cb(err as Error)
    }
  }

  override _flush(cb: TransformCallback): void {
    if (this.#segIndex !== 0) return cb(new MaifError('MAIF_ERR_RECORD', 'the input ended inside a binary object (its last piece never came)'))
    try {
      this.#flushLines()
    } catch (err) {
      return cb(err as Error)
    }
    cb()
  }

  /** The first record of a block: its start time, and the timer that closes it when blockMs is set. */
  #openBlock(): void {
    this.#firstMs = this.#now()
    if (this.#blockMs > 0) this.#timer = setTimeout(this.#flushByTime, this.#blockMs).unref()
  }

  /** A partial block's time is up. Pending objects are serialised now, so a bad one fails the stream here. */
  readonly #flushByTime = (): void => {
    try {
      this.#flushLines()
    } catch (err) {
      this.destroy(err as Error)
    }
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    clearTimeout(this.#timer)
    cb(err)
  }

  /** A batch's block type: its own, else the framer's explicit one, else from its format. */
  #typeOf(blockType: string | undefined, format: string | undefined): string {
    const type = blockType ?? this.#explicitType ?? (format ? FORMAT_TYPES[format] : undefined) ?? this.#type
    if (blockType !== undefined && !isWritableDataType(blockType)) throw new MaifError('MAIF_ERR_RECORD', `block type '${blockType}' is not a data type (use one of ${Object.keys(BLOCK_TYPES).join(', ')} or a vendor type 'X…')`)
    return type
  }

  /** Records go into blocks of one type each, in order: a record of another type closes the open block. */
  #useType(type: string): void {
    if (type === this.#open) return
    this.#flushLines()
    this.#open = type
  }

  #addLine(rec: RecordInput): void {
    if (typeof rec === 'object' && rec !== null && (rec as LineBatch).kind === 'lines' && Buffer.isBuffer((rec as LineBatch).data)) {
      const b = rec as LineBatch
      this.#useType(this.#typeOf(b.blockType, b.format))
      return this.#addBatch(b)
    }
    this.#useType(this.#type)
    // Strings (and serialised objects) are encoded as they come into one text buffer per block: one Buffer
    // per block instead of one per record is what makes small events cheap.
    let text: string | null = null
    let line: Buffer | null = null
    if (typeof rec === 'string') {
      if (rec.includes('\n')) throw new MaifError('MAIF_ERR_RECORD', 'a line record contains a newline; split it first or use binary mode')
      text = rec
    } else if (Buffer.isBuffer(rec)) {
      if (rec.includes(0x0a)) throw new MaifError('MAIF_ERR_RECORD', 'a line record contains a newline; split it first or use binary mode')
      line = rec
    } else if (typeof rec === 'object' && rec !== null) {
      if (serialisesAsObject(rec)) return this.#addObject(rec)
      text = toJsonLine(rec)
    } else throw new MaifError('MAIF_ERR_RECORD', `a record must be a Buffer, string or object, got ${typeof rec}`)
    if (this.#records === 0) this.#openBlock()
    if (text !== null) {
      if (this.#pending.length > 0) this.#serialisePending()
      this.#writeText(text)
      this.#bytes += text.length + 1 // UTF-16 length: the byte limit is a soft one
    } else {
      this.#encodeTexts()
      this.#parts.push(line!, NL)
      this.#bytes += line!.length + 1
    }
    this.#records++
    if (this.#records >= this.#maxRecords || this.#bytes >= this.#maxBytes) this.#flushLines()
  }

  #addObject(rec: object): void {
    if (this.#records === 0) this.#openBlock()
    this.#pending.push(rec)
    this.#records++
    if (this.#pending.length < this.#serialiseAt && this.#records < this.#maxRecords) return
    this.#serialisePending()
    if (this.#records >= this.#maxRecords || this.#bytes >= this.#maxBytes) this.#flushLines()
  }

  /** The pending objects, serialised as one JSON array whose elements become lines, in order. */
  #serialisePending(): void {
    const objs = this.#pending
    this.#pending = []
    let json: string | undefined
    if (this.#oneByOne > 0) this.#oneByOne--
    else {
      try {
        json = JSON.stringify(objs)
      } catch {
        // One of them cannot be serialised: one by one, the good ones go in and the error names the bad one.
      }
      // Records that hold `},{` themselves would pay twice, every batch: they go one by one for a while.
      if (json !== undefined && !this.#writeArrayAsLines(json, objs.length)) { json = undefined; this.#oneByOne = 64 }
    }
    if (json === undefined) {
      for (const o of objs) {
        const text = toJsonLine(o)
        this.#writeText(text)
        this.#bytes += text.length + 1
      }
    } else this.#avgChars = this.#avgChars === 0 ? json.length / objs.length : (this.#avgChars * 3 + json.length / objs.length) / 4
    this.#nextBatch()
  }

  /**
   * Writes `[a,b,…]` as the lines `a\nb\n…`, when its `},{` are exactly the n-1 places between the objects
   * (a `},{` inside a string or a nested array would make more: then false, and nothing is kept).
   */
  #writeArrayAsLines(json: string, n: number): boolean {
    const room = this.#text ? this.#text.length - this.#textAt : 0
    if (room < json.length * 3 && room < Buffer.byteLength(json, 'utf8')) this.#newText(Buffer.byteLength(json, 'utf8'))
    const t = this.#text!
    const start = this.#textAt
    // The '[' goes over the byte before (put back below) so that the lines need no moving; only at the very
    // start of the buffer do they move back by one.
    const at = start > 0 ? start - 1 : 0
    const before = t[at]!
    const len = t.write(json, at, 'utf8')
    const inner = t.subarray(at + 1, at + len - 1) // without the brackets
    let found = 0
    for (let p = inner.indexOf(BETWEEN); p !== -1; p = inner.indexOf(BETWEEN, p + 3)) {
      inner[p + 1] = 0x0a
      found++
    }
    if (at === start) t.copyWithin(start, start + 1, start + len - 1)
    else t[at] = before
    if (found !== n - 1) return false
    this.#textAt = at + len - (at === start ? 1 : 0)
    t[this.#textAt - 1] = 0x0a // where the ']' was
    this.#bytes += json.length - 1 // as counted for strings: UTF-16 units plus a newline per record
    return true
  }

  /** How many objects the next batch takes: about BATCH_CHARS of JSON, and no more than the block has room for. */
  #nextBatch(): void {
    if (this.#avgChars === 0) { this.#serialiseAt = 1; return }
    const byBytes = Math.ceil(Math.max(this.#maxBytes - this.#bytes, 1) / (this.#avgChars + 1))
    this.#serialiseAt = Math.max(1, Math.min(MAX_BATCH, Math.floor(BATCH_CHARS / this.#avgChars), byBytes))
  }

  /** One string record and its newline, as UTF-8, at the end of the text buffer. */
  #writeText(text: string): void {
    // At most 3 bytes per UTF-16 unit; the exact length is worked out only when that bound does not fit.
    const room = this.#text ? this.#text.length - this.#textAt : 0
    if (room < text.length * 3 + 1 && room < Buffer.byteLength(text, 'utf8') + 1) this.#newText(Buffer.byteLength(text, 'utf8') + 1)
    const t = this.#text!
    this.#textAt += t.write(text, this.#textAt, 'utf8')
    t[this.#textAt++] = 0x0a
  }

  /** A new text buffer of at least `min` bytes; the old one stays with the parts that point into it. */
  #newText(min: number): void {
    this.#encodeTexts()
    if (this.#text && this.#textAt > 0) this.#lent.push(this.#text.buffer as ArrayBuffer)
    const size = Math.max(min, 64 << 10)
    // All of a recycled buffer is used, not just `size`: text fills it up to the block's size.
    const ab = this.#buffers ? this.#buffers.take(size).buffer : Buffer.allocUnsafeSlow(size).buffer
    this.#text = Buffer.from(ab, 0, ab.byteLength)
    this.#textStart = this.#textAt = 0
  }

  /** Cuts the text written so far into a part, keeping record order with Buffer parts. */
  #encodeTexts(): void {
    if (this.#pending.length > 0) this.#serialisePending()
    if (this.#textAt === this.#textStart) return
    this.#encoded = this.#text!.subarray(this.#textStart, this.#textAt)
    this.#parts.push(this.#encoded)
    this.#textStart = this.#textAt
  }

  #addBatch(b: LineBatch): void {
    this.#encodeTexts()
    let data = b.data
    let count = b.count
    let k = 0 // records of b taken so far
    let held = false // a view of b's data is among the open block's parts
    if (count > 0 && data[data.length - 1] !== 0x0a) throw new MaifError('MAIF_ERR_RECORD', 'a line batch must end with a newline')
    while (count > 0) {
      if (this.#records === 0) this.#openBlock()
      // Take as many lines as fit the block's record and byte limits (at least one).
      let take = Math.min(count, this.#maxRecords - this.#records)
      let end = data.length
      if (take < count || this.#bytes + data.length > this.#maxBytes) {
        const room = Math.max(this.#maxBytes - this.#bytes, 1)
        end = 0
        let n = 0
        while (n < take) {
          const nl = data.indexOf(0x0a, end)
          if (n > 0 && nl + 1 > room) break
          end = nl + 1
          n++
        }
        take = n
      }
      this.#parts.push(data.subarray(0, end))
      held = true
      if (b.offsets) {
        const r = this.#ranges.get(b.offsets.stream)
        const last = b.offsets.at[k + take - 1]!
        if (r) r[1] = last
        else this.#ranges.set(b.offsets.stream, [b.offsets.at[k]!, last])
      }
      k += take
      this.#bytes += end
      this.#records += take
      data = data.subarray(end)
      count -= take
      if (this.#records >= this.#maxRecords || this.#bytes >= this.#maxBytes || count > 0) {
        this.#flushLines()
        held = false
      }
    }
    // Its last records wait in the open block: the batch's memory goes back when that block is copied.
    if (b.releaseData) held ? this.#releases.push(b.releaseData) : b.releaseData()
  }

  #flushLines(): void {
    clearTimeout(this.#timer)
    if (this.#records === 0) return
    this.#encodeTexts()
    // Batches may be shared with other outputs and moved to worker threads, so a block always gets its
    // own bytes: a copy, except for the buffer encoded here from string records, which nothing else holds.
    // A block of string records only is its text buffer: it goes with the block (from the start of the buffer,
    // so that the whole buffer can move to a worker), and the next text starts in a new one.
    const own = this.#parts.length === 1 && this.#parts[0] === this.#encoded && this.#encoded.byteOffset === this.#text!.byteOffset
    const recycle = this.#buffers
    const data = own ? this.#parts[0]! : recycle ? recycle.join(this.#parts) : Buffer.concat(this.#parts)
    // Every batch with records in this block is copied now, and none has records in a later one.
    if (this.#releases.length > 0) {
      const done = this.#releases
      this.#releases = []
      for (const release of done) release()
    }
    // Earlier text buffers were copied into the block: they go back now. The current one is reused from its start.
    if (recycle) for (const ab of this.#lent) recycle.give(ab)
    this.#lent = []
    if (own) this.#text = null
    this.#textStart = this.#textAt = 0
    this.#encoded = null
    const pub: Record<string, unknown> = { ...this.#basePub, records: this.#records, firstMs: this.#firstMs, lastMs: this.#now() }
    if (this.#ranges.size > 0) {
      pub.offsets = [...this.#ranges].map(([stream, [first, last]]) => ({ stream, first, last }))
      this.#ranges.clear()
    }
    this.#parts = []
    this.#bytes = 0
    this.#nextBatch()
    const records = this.#records
    this.#records = 0
    this.push({ kind: 'block', type: this.#open, flags: 0, pub, priv: this.#priv, data, records, ...(recycle ? { recycle } : {}) } satisfies Block)
  }

  #pushBinary(rec: RecordInput, type: string, offsets?: Array<{ stream: string; first: string; last: string }>): void {
    if (this.#segIndex === 0) this.#flushLines()
    let data: Buffer
    let last = true
    const first = this.#segIndex === 0
    const pub: Record<string, unknown> = first ? { ...this.#basePub, records: 1, firstMs: this.#now() } : { segment: this.#segIndex }
    if (first && offsets) pub.offsets = offsets
    let priv = first ? this.#priv : {}
    if (Buffer.isBuffer(rec)) data = rec
    else if (typeof rec === 'object' && rec !== null && Buffer.isBuffer((rec as BinaryRecord).data)) {
      const b = rec as BinaryRecord
      data = b.data
      last = b.last !== false
      if (first && b.name !== undefined) pub.name = b.name
      if (first && b.meta !== undefined) priv = { ...priv, ...b.meta }
    } else throw new MaifError('MAIF_ERR_RECORD', 'binary mode takes Buffers or { data: Buffer, name?, last? } records')
    // Segments let readers stream a large object without holding more than one segment.
    let off = 0
    do {
      const end = Math.min(off + this.#segment, data.length)
      const final = last && end >= data.length
      const isFirst = this.#segIndex === 0
      this.push({
        kind: 'block', type, flags: final ? 0 : FLAG_CONTINUES, pub: isFirst ? pub : { segment: this.#segIndex },
        priv: isFirst ? priv : {}, data: data.subarray(off, end), records: isFirst ? 1 : 0,
      } satisfies Block)
      this.#segIndex = final ? 0 : this.#segIndex + 1
      off = end
    } while (off < data.length)
  }
}

function isBinaryBatch(rec: unknown): rec is BinaryBatchInput {
  return typeof rec === 'object' && rec !== null && (rec as BinaryBatchInput).kind === 'binary' && Array.isArray((rec as BinaryBatchInput).pieces)
}
