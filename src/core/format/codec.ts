// Block codecs. zstd comes from zstd-napi (a native binding to the reference library; Node 20's zlib has
// no zstd), gzip and brotli from node:zlib. Compression takes one whole block (blocks are bounded in size).
// Decompression streams with an output cap: the output may never exceed the block's declared plaintext length,
// which a reader bounds first (maxBoxBytes), and it is checked as it is produced, so a bomb stops at the cap
// instead of after it; zstd's window is bounded the same way. A reader that only checks a block discards the
// output as it comes; a reader that keeps it gets exactly one buffer of the declared size.
import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync, gzipSync } from 'node:zlib'
import zstdBinding from 'zstd-napi/binding.js'
import { MaifError } from '../errors.js'
import { CODEC_NAMES, type Codec } from './format.js'

export interface CodecOptions { level?: number }

const DEFAULT_LEVEL: Record<Codec, number> = { none: 0, zstd: 1, gzip: 1, brotli: 4 }

/**
 * The largest data box (and declared plaintext) a reader accepts unless told otherwise: the writer's segment
 * size (4 MiB) plus 64 KiB of room for the box header, the data prefix, public and private metadata and the tag.
 */
export const DEFAULT_MAX_BOX = (4 << 20) + (64 << 10)

/**
 * zstd state kept per thread between blocks: the context, and scratch buffers for the joined input and the
 * output. zstd-napi's one-call compress allocates a compressBound-sized output per call, and fresh memory is
 * what costs most on these VMs (page faults: about 4–7 ms per MiB), so every block reuses the same warm
 * buffers and only the compressed bytes are copied out. The output is byte-for-byte what compress() gives.
 */
let zstdState: { cctx: InstanceType<typeof zstdBinding.CCtx>; level: number; input: Buffer; output: Buffer } | undefined

function zstdCompressParts(parts: readonly Buffer[], level: number, into?: ArrayBuffer): Buffer {
  let total = 0
  for (const p of parts) total += p.length
  const st = (zstdState ??= { cctx: new zstdBinding.CCtx(), level: NaN, input: Buffer.alloc(0), output: Buffer.alloc(0) })
  if (st.level !== level) {
    st.cctx.setParameter(zstdBinding.CParameter.compressionLevel, level)
    st.level = level
  }
  let input: Buffer
  if (parts.length === 1) input = parts[0]!
  else {
    if (st.input.length < total) st.input = Buffer.allocUnsafeSlow(total)
    let at = 0
    for (const p of parts) { st.input.set(p, at); at += p.length }
    input = st.input.subarray(0, total)
  }
  const bound = zstdBinding.compressBound(total)
  if (st.output.length < bound) st.output = Buffer.allocUnsafeSlow(bound)
  const n = st.cctx.compress2(st.output, input)
  // Into the caller's memory when it has room (the block's own buffer, whose data is read by now); else a
  // buffer of its own (not a slice of Node's pool), so that a worker can hand it back without a copy.
  const out = into && n <= into.byteLength ? Buffer.from(into, 0, n) : Buffer.allocUnsafeSlow(n)
  st.output.copy(out, 0, 0, n)
  return out
}

/**
 * `into`: memory the compressed bytes may be written to instead of a new buffer (zstd only, when they fit). It may
 * hold the parts themselves: they are read before anything is written there.
 */
export function compressParts(codec: Codec, parts: readonly Buffer[], opts: CodecOptions = {}, into?: ArrayBuffer): Buffer {
  const level = opts.level ?? DEFAULT_LEVEL[codec]
  if (codec === 'zstd') return zstdCompressParts(parts, level, into)
  const input = parts.length === 1 ? parts[0]! : Buffer.concat(parts)
  switch (codec) {
    case 'none': return input
    case 'gzip': return gzipSync(input, { level })
    case 'brotli': return brotliCompressSync(input, { params: { [constants.BROTLI_PARAM_QUALITY]: level, [constants.BROTLI_PARAM_SIZE_HINT]: input.length } })
  }
}

type Where = { offset?: number; seq?: number }

/**
 * Where a one-shot decode goes when the caller keeps nothing (it gets each chunk only during its sink call):
 * one buffer per thread, reused for every block. A fresh buffer per block cost verify --keyring most of its
 * time in page faults (about 4–7 ms per fresh MiB on these VMs).
 */
let scratch: Buffer | undefined
function discardScratch(size: number): Buffer {
  if (!scratch || scratch.length < size) scratch = Buffer.allocUnsafeSlow(Math.max(size, 1 << 20))
  return scratch.subarray(0, size)
}

const ZSTD_OUT = 1 << 17

/**
 * One decompression context per thread for one-shot decodes. zstd-napi's `decompress()` function creates and
 * frees a context on every call (ZSTD_decompress), about 13 µs: for one-record blocks that was most of a read's
 * time. A reused context takes 0.35 µs for the same block, and starts every frame afresh.
 */
let oneShotDctx: InstanceType<typeof zstdBinding.DCtx> | undefined

/**
 * One block's decompression, fed with compressed chunks in order (`push`), ended with `end`. Every output
 * chunk goes to `sink` as soon as it is produced (valid only during the call); more output than `plainLen`, or
 * less at the end, is MAIF_ERR_CODEC.
 */
export class BlockInflater {
  readonly #codec: Codec | undefined
  readonly #codecId: number
  readonly #plainLen: number
  readonly #where: Where
  readonly #sink: (chunk: Buffer) => void
  #produced = 0
  #dctx: InstanceType<typeof zstdBinding.DCtx> | null = null
  #scratch: Buffer | null = null
  #zstdHint = 1 // nothing decoded yet: an empty body is an incomplete frame
  #parts: Buffer[] = []
  /** A zstd block within the default box limit is decoded in one call into a buffer of exactly its size. */
  readonly #oneShot: boolean

  readonly #target: Buffer | undefined

  /** `target`: a buffer of plainLen bytes a one-shot decode writes into (a PlainCollector's), saving a copy. */
  constructor(codecId: number, plainLen: number, sink: (chunk: Buffer) => void, where: Where = {}, target?: Buffer) {
    this.#target = target !== undefined && target.length === plainLen ? target : undefined
    this.#codecId = codecId
    this.#codec = CODEC_NAMES[codecId]
    this.#plainLen = plainLen
    this.#where = where
    this.#sink = sink
    if (this.#codec === undefined) throw this.#fail(`unknown codec id ${codecId}`)
    // Streaming through a small window costs about twice a one-shot decode; a block no larger than the default
    // box limit is decoded in one call into exactly plainLen bytes (which the reader bounded already), so a
    // bomb still stops at its declaration. Larger blocks, which a reader must opt in to, stream.
    this.#oneShot = this.#codec === 'zstd' && plainLen <= DEFAULT_MAX_BOX
    if (this.#codec === 'zstd' && !this.#oneShot) {
      this.#dctx = new zstdBinding.DCtx()
      // A frame of plainLen bytes written in one shot never needs a window larger than the next power of two
      // of plainLen; 8 MiB (zstd's default window up to level 19) is allowed whatever the size.
      const windowLog = Math.min(31, Math.max(23, Math.ceil(Math.log2(Math.max(plainLen, 1)))))
      this.#dctx.setParameter(zstdBinding.DParameter.windowLogMax, windowLog)
      this.#scratch = Buffer.allocUnsafe(Math.min(ZSTD_OUT, Math.max(plainLen, 1)))
    }
  }

  #fail(why: string, cause?: unknown): MaifError {
    return new MaifError('MAIF_ERR_CODEC', `block could not be decompressed (${this.#codec ?? this.#codecId}): ${why}`, { ...this.#where, ...(cause === undefined ? {} : { cause }) })
  }

  #emit(chunk: Buffer): void {
    if (chunk.length === 0) return
    this.#produced += chunk.length
    if (this.#produced > this.#plainLen) throw this.#fail(`it expands beyond the ${this.#plainLen} bytes it declares`)
    this.#sink(chunk)
  }

  push(chunk: Buffer): void {
    switch (this.#codec) {
      case 'none': this.#emit(chunk); break
      case 'zstd': {
        if (this.#oneShot) { this.#parts.push(chunk); break }
        let src = chunk
        while (src.length > 0) {
          let r
          try {
            r = this.#dctx!.decompressStream(this.#scratch!, src)
          } catch (cause) {
            throw this.#fail((cause as Error).message, cause)
          }
          const [hint, produced, consumed] = r
          this.#zstdHint = hint
          this.#emit(this.#scratch!.subarray(0, produced))
          src = src.subarray(consumed)
          if (produced === 0 && consumed === 0) throw this.#fail('the decoder made no progress')
        }
        break
      }
      // zlib has no synchronous streaming API: the compressed input (at most one box) is gathered, and its
      // output is capped by maxOutputLength as zlib produces it.
      default: this.#parts.push(chunk)
    }
  }

  end(): void {
    if (this.#oneShot) {
      const input = this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts)
      this.#parts = []
      if (input.length === 0) throw this.#fail('the frame is truncated')
      const out = this.#target ?? discardScratch(this.#plainLen)
      let n: number
      try {
        n = (oneShotDctx ??= new zstdBinding.DCtx()).decompress(out, input)
      } catch (cause) {
        throw this.#fail(/too small/i.test((cause as Error).message) ? `it expands beyond the ${this.#plainLen} bytes it declares` : (cause as Error).message, cause)
      }
      this.#emit(out.subarray(0, n))
    } else if (this.#codec === 'zstd') {
      // The last call returns 0 once a frame is decoded and flushed. Otherwise flush what the decoder still
      // holds (its output buffer was full); if that yields nothing, the frame is incomplete.
      while (this.#zstdHint !== 0) {
        let r
        try {
          r = this.#dctx!.decompressStream(this.#scratch!, Buffer.alloc(0))
        } catch (cause) {
          throw this.#fail((cause as Error).message, cause)
        }
        if (r[1] === 0) throw this.#fail('the frame is truncated')
        this.#zstdHint = r[0]
        this.#emit(this.#scratch!.subarray(0, r[1]))
      }
    } else if (this.#codec === 'gzip' || this.#codec === 'brotli') {
      const input = this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts)
      this.#parts = []
      let out: Buffer
      try {
        // One byte over the declaration, so that "more than declared" is told apart from "exactly".
        const o = { maxOutputLength: this.#plainLen + 1 }
        out = this.#codec === 'gzip' ? gunzipSync(input, o) : brotliDecompressSync(input, o)
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw this.#fail(`it expands beyond the ${this.#plainLen} bytes it declares`, cause)
        throw this.#fail((cause as Error).message, cause)
      }
      this.#emit(out)
    }
    if (this.#produced !== this.#plainLen) {
      throw new MaifError('MAIF_ERR_CODEC', `block decompressed to ${this.#produced} bytes but declares ${this.#plainLen}`, this.#where)
    }
  }
}

/** Decompresses a whole body into one buffer of exactly the declared size (a block that a caller keeps). */
export function decompress(codecId: number, body: Buffer, plainLen: number, where: Where = {}): Buffer {
  if (CODEC_NAMES[codecId] === 'none') {
    if (body.length !== plainLen) throw new MaifError('MAIF_ERR_CODEC', `block decompressed to ${body.length} bytes but declares ${plainLen}`, where)
    return body
  }
  const out = new PlainCollector(plainLen)
  const inf = new BlockInflater(codecId, plainLen, (c) => out.add(c), where, out.buffer)
  inf.push(body)
  inf.end()
  return out.buffer
}

/** Gathers a block's output into one buffer of its declared size (the inflater has checked the bound). */
export class PlainCollector {
  readonly buffer: Buffer
  #at = 0

  /** `into`: memory of plainLen bytes to gather into (a reader's reused buffer), instead of a new buffer. */
  constructor(plainLen: number, into?: Buffer) {
    this.buffer = into !== undefined && into.length === plainLen ? into : Buffer.allocUnsafe(plainLen)
  }

  add(chunk: Buffer): void {
    // Decoded in place (BlockInflater's target): already where it belongs.
    if (chunk.buffer === this.buffer.buffer && chunk.byteOffset === this.buffer.byteOffset + this.#at) this.#at += chunk.length
    else this.#at += chunk.copy(this.buffer, this.#at)
  }

  /** Overwrites what was gathered (a block that failed authentication afterwards). */
  wipe(): void {
    this.buffer.fill(0, 0, this.#at)
  }
}

/**
 * Keeps only the head of a block's output: the inner length prefix and private metadata (FORMAT.md §5.3), so
 * that a reader that checks a block without keeping it still checks its inner layout.
 */
export class InnerHeadCollector {
  #head: Buffer[] = []
  #have = 0
  #need = 4

  add(chunk: Buffer): void {
    if (this.#have >= this.#need) return
    const take = chunk.subarray(0, this.#need - this.#have)
    this.#head.push(Buffer.from(take))
    this.#have += take.length
    if (this.#need === 4 && this.#have >= 4) {
      const h = Buffer.concat(this.#head)
      this.#head = [h]
      this.#need = 4 + h.readUInt32BE(0)
      if (chunk.length > take.length) this.add(chunk.subarray(take.length))
    }
  }

  /** The bytes kept: `privLen ‖ priv` (or fewer, when the block is shorter than it says). */
  get head(): Buffer {
    return Buffer.concat(this.#head)
  }
}
