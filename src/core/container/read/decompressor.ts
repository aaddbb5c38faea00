// Decompressor (read path): authenticated, compressed block → block with its metadata and data.
import { Transform, type TransformCallback } from 'node:stream'
import { MaifError } from '../../errors.js'
import { decodeInner } from '../../format/format.js'
import { decompress } from '../../format/codec.js'
import type { OpenedBlock } from '../verify.js'
import type { OpenedBox } from './decryptor.js'

export class Decompressor extends Transform {
  constructor(opts: { highWaterMark?: number } = {}) {
    super({ objectMode: true, highWaterMark: opts.highWaterMark ?? 8 })
  }

  override _transform(b: OpenedBox, _e: BufferEncoding, cb: TransformCallback): void {
    if (b?.kind !== 'opened') return cb(new MaifError('MAIF_ERR_INVALID_OPTION', 'the decompressor takes blocks from a decryptor'))
    try {
      const { priv, data } = decodeInner(decompress(b.codec, b.compressed, b.plainLen, { offset: b.offset, seq: b.seq }), b.offset)
      cb(null, { seq: b.seq, offset: b.offset, type: b.type, flags: b.flags, pub: b.pub, priv, data } satisfies OpenedBlock)
    } catch (err) {
      cb(err as Error)
    }
  }
}
