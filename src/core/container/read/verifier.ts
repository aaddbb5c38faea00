// Verifier (read path): checks every box, the chain, the tree, checkpoints and tails as boxes stream by,
// and passes on the leaf boxes a decryptor needs. A failure anywhere errors the stream with its code.
import { Transform, type TransformCallback } from 'node:stream'
import { MaifError } from '../../errors.js'
import { ContainerVerifier, type VerifyOptions, type VerifyResult } from '../verify.js'
import type { RawBox } from './source.js'

export type VerifierOptions = Pick<VerifyOptions, 'pinned' | 'witness'> & { highWaterMark?: number }

export class Verifier extends Transform {
  readonly #v: ContainerVerifier
  #end = 0
  result: VerifyResult | undefined

  constructor(opts: VerifierOptions = {}) {
    super({ objectMode: true, highWaterMark: opts.highWaterMark ?? 8 })
    this.#v = new ContainerVerifier({ ...(opts.pinned ? { pinned: opts.pinned } : {}), ...(opts.witness ? { witness: opts.witness } : {}) })
  }

  override _transform(b: RawBox, _e: BufferEncoding, cb: TransformCallback): void {
    if (b?.kind !== 'raw') return cb(new MaifError('MAIF_ERR_INVALID_OPTION', 'the verifier takes boxes from a container source'))
    this.#v.box(b.offset, b.header, b.bytes).then(() => {
      this.#end = b.offset + b.header.size
      const t = b.header.type
      cb(null, t === 'indx' || t === 'ckpt' || t === 'tail' ? undefined : b)
    }, (err: unknown) => cb(err as Error))
  }

  override _flush(cb: TransformCallback): void {
    const r = this.#v.finish(this.#end)
    this.result = r
    const e = r.errors[0]
    if (e) return cb(new MaifError(e.code, e.message, { ...(e.offset === undefined ? {} : { offset: e.offset }), ...(e.seq === undefined ? {} : { seq: e.seq }) }))
    cb()
  }
}
