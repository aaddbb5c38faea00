// Signer: turns the chainer's pending checkpoints into signed ckpt boxes (plus their tail).
// Data boxes pass through untouched. Signing is async so a KMS signer can sit behind the same interface.
import { Transform, type TransformCallback } from 'node:stream'
import { MaifError } from '../../errors.js'
import { BOX_VERSION, encodeHeader, HEADER_LEN } from '../../format/format.js'
import { encodeCheckpoint } from '../../format/checkpoint.js'
import type { Box, ChainOutput } from '../blocks.js'
import type { Signer } from '../../format/signing.js'

export interface CheckpointSignerOptions {
  signer: Signer
  highWaterMark?: number
}

export class CheckpointSigner extends Transform {
  readonly #signer: Signer

  constructor(opts: CheckpointSignerOptions) {
    super({ objectMode: true, highWaterMark: opts.highWaterMark ?? 8 })
    if (!opts?.signer || typeof opts.signer.sign !== 'function') throw new MaifError('MAIF_ERR_INVALID_OPTION', 'the signer stage needs a Signer')
    this.#signer = opts.signer
  }

  override _transform(c: ChainOutput, _e: BufferEncoding, cb: TransformCallback): void {
    if (c?.kind === 'box') return cb(null, c)
    if (c?.kind !== 'checkpoint') return cb(new MaifError('MAIF_ERR_INVALID_OPTION', 'the signer takes the output of a hash-chainer'))
    this.#signer.sign(c.note).then((sig) => {
      const body = encodeCheckpoint({ alg: this.#signer.alg, note: c.note, sig, frontier: c.frontier })
      const header = encodeHeader({ type: 'ckpt', size: c.size, version: BOX_VERSION, flags: 0, seq: c.seq, prev: c.prevLeaf })
      const len = body.reduce((n, b) => n + b.length, HEADER_LEN)
      if (len !== c.size) throw new MaifError('MAIF_ERR_SIGNATURE', `the checkpoint came out ${len} bytes, not the ${c.size} the chainer reserved`)
      this.push({ kind: 'box', type: 'ckpt', seq: c.seq, offset: c.offset, size: c.size, parts: [header, ...body], records: 0 } satisfies Box)
      cb(null, c.tail)
    }, (err: unknown) => cb(err instanceof MaifError ? err : new MaifError('MAIF_ERR_SIGNATURE', 'signing a checkpoint failed', { cause: err })))
  }
}
