// Deframer (read path): blocks → the records the framer took in. Line blocks (JSON, TEXT) yield one
// Buffer per record (or a parsed value with parse: true); other blocks yield { type, name, data, last }.
import { Transform, type TransformCallback } from 'node:stream'
import { MaifError } from '../../errors.js'
import { FLAG_CONTINUES } from '../../format/format.js'
import type { OpenedBlock } from '../verify.js'

export interface DeframerOptions {
  /** JSON.parse each JSON record. */
  parse?: boolean
  /** Only blocks of these types. */
  types?: readonly string[]
  highWaterMark?: number
}

export interface BinaryPiece { type: string; seq: number; name: string | undefined; data: Buffer; last: boolean }

export class Deframer extends Transform {
  readonly #parse: boolean
  readonly #types: Set<string> | null
  #name: string | undefined

  constructor(opts: DeframerOptions = {}) {
    super({ objectMode: true, highWaterMark: opts.highWaterMark ?? 1024 })
    this.#parse = opts.parse === true
    this.#types = opts.types ? new Set(opts.types) : null
  }

  override _transform(b: OpenedBlock, _e: BufferEncoding, cb: TransformCallback): void {
    if (this.#types && !this.#types.has(b.type)) return cb()
    try {
      if (b.type === 'JSON' || b.type === 'TEXT') {
        let start = 0
        for (let nl = b.data.indexOf(0x0a); nl !== -1; nl = b.data.indexOf(0x0a, start)) {
          const line = b.data.subarray(start, nl)
          this.push(this.#parse && b.type === 'JSON' ? JSON.parse(line.toString('utf8')) : line)
          start = nl + 1
        }
        if (start !== b.data.length) throw new MaifError('MAIF_ERR_PAYLOAD', `block #${b.seq} does not end with a record separator`, { seq: b.seq })
      } else {
        if (typeof b.pub.name === 'string') this.#name = b.pub.name
        const last = (b.flags & FLAG_CONTINUES) === 0
        this.push({ type: b.type, seq: b.seq, name: this.#name, data: b.data, last } satisfies BinaryPiece)
        if (last) this.#name = undefined
      }
      cb()
    } catch (err) {
      cb(err instanceof MaifError ? err : new MaifError('MAIF_ERR_RECORD', `block #${b.seq} holds a malformed record`, { seq: b.seq, cause: err }))
    }
  }
}
