// Compressor: compress-then-encrypt, per block, so no dictionary is shared across blocks (CRIME-class
// length leaks stay within one block). The codec id is recorded in each block.
import { Transform, type TransformCallback } from 'node:stream'
import { MaifError } from '../../errors.js'
import { canonicalJson, CODECS, encodeInner, type Codec } from '../../format/format.js'
import { compressParts } from '../../format/codec.js'
import type { Block, CompressedBlock } from '../blocks.js'
import { ownedBuffer, type WorkerPool } from '../../workers/worker-pool.js'

export interface CompressorOptions {
  codec?: Codec
  level?: number
  /** A worker pool to compress on other cores; blocks stay in order. Without one, compresses inline. */
  pool?: WorkerPool
  highWaterMark?: number
}

/**
 * Blocks smaller than this are compressed on the calling thread even with a pool: zstd -1 takes a few µs for a
 * one-record block, and the message to a worker and back cost about 50 µs (a one-record pack spent 29 % of its
 * main thread in postMessage).
 */
const INLINE_BELOW = 16 << 10

export async function toCompressed(b: Block, codec: Codec, level: number | undefined, pool?: WorkerPool): Promise<CompressedBlock> {
  const inner = encodeInner(Buffer.from(canonicalJson(b.priv), 'utf8'), b.data)
  const plainLen = inner[0]!.length + inner[1]!.length + inner[2]!.length
  let body: Buffer
  // Compressed into the block's own recycled buffer (its data is read by then), the body takes no new memory;
  // it goes back once sealed. A 1 GiB pack otherwise left some 30 MB of compressed bodies for V8 to collect.
  let bodyRecycled = false
  if (pool && codec !== 'none' && plainLen >= INLINE_BELOW) {
    // The block's data moves to the worker (the framer made it for this block alone); the small parts are copied.
    // Recycled data moves with its whole ArrayBuffer, which the worker hands back with the result.
    const own = b.recycle ? { view: b.data, buffer: b.data.buffer as ArrayBuffer } : ownedBuffer(inner[2]!)
    const res = await pool.run({ op: 'compress', codec, ...(level === undefined ? {} : { level }), parts: [inner[0]!, inner[1]!, own.view], ...(b.recycle ? { giveBack: true } : {}) }, own.view === inner[2] ? [own.buffer] : [])
    if (res.op !== 'compress') throw new MaifError('MAIF_ERR_CODEC', 'the compression worker answered the wrong request')
    if (res.spare) b.recycle?.give(res.spare.buffer as ArrayBuffer)
    body = Buffer.from(res.body.buffer, res.body.byteOffset, res.body.byteLength)
    bodyRecycled = res.bodyInSpare === true
  } else {
    body = compressParts(codec, inner, level === undefined ? {} : { level }, b.recycle ? b.data.buffer as ArrayBuffer : undefined)
    // The body is in the block's buffer when compressed into it ('none' keeps the data itself as the body when it
    // is the only part); otherwise nothing holds that buffer any more.
    bodyRecycled = b.recycle !== undefined && body.buffer === b.data.buffer
    if (b.recycle && !bodyRecycled) b.recycle.give(b.data.buffer as ArrayBuffer)
  }
  return {
    kind: 'compressed', type: b.type, flags: b.flags, pub: Buffer.from(canonicalJson(b.pub), 'utf8'), codec: CODECS[codec], plainLen, body, records: b.records,
    ...(bodyRecycled ? { recycle: b.recycle! } : {}),
  }
}

interface Slot { done: boolean; value?: CompressedBlock; err?: unknown }

export class Compressor extends Transform {
  readonly #codec: Codec
  readonly #level: number | undefined
  readonly #pool: WorkerPool | undefined
  readonly #limit: number
  /** Blocks being compressed, in order; each is passed on as soon as it and every block before it are done. */
  readonly #slots: Slot[] = []
  #resume: TransformCallback | null = null
  #flushed: TransformCallback | null = null

  constructor(opts: CompressorOptions = {}) {
    super({ objectMode: true, highWaterMark: opts.highWaterMark ?? 4 })
    const codec = opts.codec ?? 'zstd'
    if (!(codec in CODECS)) throw new MaifError('MAIF_ERR_INVALID_OPTION', `codec must be one of ${Object.keys(CODECS).join(', ')}, got '${String(codec)}'`)
    if (opts.level !== undefined && !Number.isInteger(opts.level)) throw new MaifError('MAIF_ERR_INVALID_OPTION', 'compression level must be an integer')
    this.#codec = codec
    this.#level = opts.level
    this.#pool = opts.pool
    // Three blocks in flight per worker keep every worker busy while the next block is framed, and between
    // the line reader's validation jobs, which share the workers (a 1 GiB pack: 4.00–4.33 s with two, with the
    // reader at two chunks per worker; 3.97–4.07 s with three, the reader at one).
    this.#limit = opts.pool ? opts.pool.size * 3 : 1
  }

  override _transform(b: Block, _e: BufferEncoding, cb: TransformCallback): void {
    if (b?.kind !== 'block') return cb(new MaifError('MAIF_ERR_INVALID_OPTION', 'the compressor takes blocks from a framer'))
    const slot: Slot = { done: false }
    this.#slots.push(slot)
    toCompressed(b, this.#codec, this.#level, this.#pool).then(
      (v) => { slot.done = true; slot.value = v; this.#pass() },
      (err: unknown) => { slot.done = true; slot.err = err; this.#pass() },
    )
    // A block is passed on when it is done, not when the window fills: on a slow input a block must not
    // wait for the next ones to become durable. The window only bounds how many are in flight.
    if (this.#slots.length < this.#limit) cb()
    else this.#resume = cb
  }

  #pass(): void {
    while (this.#slots[0]?.done) {
      const s = this.#slots.shift()!
      if (s.err !== undefined) {
        const cb = this.#resume ?? this.#flushed
        this.#resume = this.#flushed = null
        if (cb) cb(s.err as Error)
        else this.destroy(s.err as Error)
        return
      }
      this.push(s.value)
    }
    if (this.#resume && this.#slots.length < this.#limit) {
      const cb = this.#resume
      this.#resume = null
      cb()
    }
    if (this.#flushed && this.#slots.length === 0) {
      const cb = this.#flushed
      this.#flushed = null
      cb()
    }
  }

  override _flush(cb: TransformCallback): void {
    if (this.#slots.length === 0) return cb()
    this.#flushed = cb
  }
}
