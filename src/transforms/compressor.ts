// Compressor: compress-then-encrypt, per block, so no dictionary is shared across blocks (CRIME-class
// length leaks stay within one block). The codec id is recorded in each block.
import { Transform, type TransformCallback } from 'node:stream'
import { MaifError } from '../core/errors.js'
import { canonicalJson, CODECS, encodeInner, type Codec } from '../core/format.js'
import { compressParts } from '../core/codec.js'
import type { Block, CompressedBlock } from '../core/blocks.js'

export interface CompressorOptions {
  codec?: Codec
  level?: number
  highWaterMark?: number
}

export function toCompressed(b: Block, codec: Codec, level: number | undefined): CompressedBlock {
  const inner = encodeInner(Buffer.from(canonicalJson(b.priv), 'utf8'), b.data)
  const plainLen = inner[0]!.length + inner[1]!.length + inner[2]!.length
  const body = compressParts(codec, inner, level === undefined ? {} : { level })
  return { kind: 'compressed', type: b.type, flags: b.flags, pub: Buffer.from(canonicalJson(b.pub), 'utf8'), codec: CODECS[codec], plainLen, body, records: b.records }
}

export class Compressor extends Transform {
  readonly #codec: Codec
  readonly #level: number | undefined

  constructor(opts: CompressorOptions = {}) {
    super({ objectMode: true, highWaterMark: opts.highWaterMark ?? 4 })
    const codec = opts.codec ?? 'zstd'
    if (!(codec in CODECS)) throw new MaifError('MAIF_ERR_INVALID_OPTION', `codec must be one of ${Object.keys(CODECS).join(', ')}, got '${String(codec)}'`)
    if (opts.level !== undefined && !Number.isInteger(opts.level)) throw new MaifError('MAIF_ERR_INVALID_OPTION', 'compression level must be an integer')
    this.#codec = codec
    this.#level = opts.level
  }

  override _transform(b: Block, _e: BufferEncoding, cb: TransformCallback): void {
    if (b?.kind !== 'block') return cb(new MaifError('MAIF_ERR_INVALID_OPTION', 'the compressor takes blocks from a framer'))
    try {
      cb(null, toCompressed(b, this.#codec, this.#level))
    } catch (err) {
      cb(err as Error)
    }
  }
}
