// Decompressor (read path): authenticated, compressed block → block with its metadata and data.
import { Transform, type TransformCallback } from 'node:stream'
import { MaifError } from '../../errors.js'
import { decodeInner } from '../../format/format.js'
import { decompress, DEFAULT_MAX_BOX } from '../../format/codec.js'
import { boxTooLarge } from '../scanner.js'
import type { OpenedBlock } from '../verify.js'
import type { OpenedBox } from './decryptor.js'

export class Decompressor extends Transform {
  readonly #maxBox: number

  /** `maxBoxBytes`: the largest plaintext a block may declare (default DEFAULT_MAX_BOX). */
  constructor(opts: { highWaterMark?: number; maxBoxBytes?: number } = {}) {
    super({ objectMode: true, highWaterMark: opts.highWaterMark ?? 8 })
    this.#maxBox = opts.maxBoxBytes ?? DEFAULT_MAX_BOX
  }

  override _transform(b: OpenedBox, _e: BufferEncoding, cb: TransformCallback): void {
    if (b?.kind !== 'opened') return cb(new MaifError('MAIF_ERR_INVALID_OPTION', 'the decompressor takes blocks from a decryptor'))
    try {
      if (b.plainLen > this.#maxBox) throw boxTooLarge(b.offset, b.seq, b.plainLen, this.#maxBox, 'declares a plaintext of')
      const { priv, data } = decodeInner(decompress(b.codec, b.compressed, b.plainLen, { offset: b.offset, seq: b.seq }), b.offset)
      cb(null, { seq: b.seq, offset: b.offset, type: b.type, flags: b.flags, pub: b.pub, priv, data } satisfies OpenedBlock)
    } catch (err) {
      cb(err as Error)
    }
  }
}
