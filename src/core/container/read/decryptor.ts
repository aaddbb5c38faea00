// Decryptor (read path): unwraps each session's key and authenticates every data box before anything
// leaves this stage. A block that fails its tag errors the stream; no partial plaintext is released.
import { Transform, type TransformCallback } from 'node:stream'
import type { KeyObject } from 'node:crypto'
import { MaifError } from '../../errors.js'
import { decodeFileHeader, decodeSession, ENC_AES_256_GCM, HEADER_LEN } from '../../format/format.js'
import { openBody, parseDataBox, unwrapSessionKey } from '../../format/open-block.js'
import type { KeyProvider } from '../../format/keyring.js'
import type { RawBox } from './source.js'

export interface OpenedBox {
  kind: 'opened'
  seq: number
  offset: number
  type: string
  flags: number
  pub: Record<string, unknown>
  codec: number
  plainLen: number
  compressed: Buffer
}

export interface DecryptorOptions {
  keyProvider: KeyProvider
  /** Pass blocks of sessions recorded as plaintext (default false: fail closed). */
  allowPlaintext?: boolean
  highWaterMark?: number
}

export class Decryptor extends Transform {
  readonly #provider: KeyProvider
  readonly #allowPlain: boolean
  #containerId: Buffer | null = null
  #session: { id: Buffer; key: KeyObject | null; counter: number } | null = null

  constructor(opts: DecryptorOptions) {
    super({ objectMode: true, highWaterMark: opts.highWaterMark ?? 8 })
    if (!opts?.keyProvider) throw new MaifError('MAIF_ERR_INVALID_OPTION', 'the decryptor needs a key provider')
    this.#provider = opts.keyProvider
    this.#allowPlain = opts.allowPlaintext === true
  }

  override _transform(b: RawBox, _e: BufferEncoding, cb: TransformCallback): void {
    this.#handle(b).then((out) => cb(null, out), (err: unknown) => cb(err as Error))
  }

  async #handle(b: RawBox): Promise<OpenedBox | undefined> {
    const h = b.header
    if (h.type === 'fhdr') {
      this.#containerId = decodeFileHeader(b.bytes.subarray(HEADER_LEN), b.offset).containerId
      return undefined
    }
    if (this.#containerId === null) throw new MaifError('MAIF_ERR_STRUCTURE', 'the decryptor saw a box before the file header')
    if (h.type === 'sess') {
      const { sessionId, info } = decodeSession(b.bytes.subarray(HEADER_LEN), b.offset)
      if (info.encryption === 'none' && !this.#allowPlain) {
        throw new MaifError('MAIF_ERR_ENCRYPTION_REQUIRED', `session ${sessionId.toString('hex')} was written without encryption; pass allowPlaintext to read it`, { offset: b.offset })
      }
      const key = info.encryption === 'aes-256-gcm' ? await unwrapSessionKey(this.#provider, this.#containerId, sessionId, info, b.offset) : null
      this.#session = { id: sessionId, key, counter: 0 }
      return undefined
    }
    if (h.type === 'indx' || h.type === 'ckpt' || h.type === 'tail') return undefined
    const s = this.#session
    if (!s) throw new MaifError('MAIF_ERR_STRUCTURE', 'a data box came before its session', { offset: b.offset })
    const d = parseDataBox(b.offset, b.bytes)
    if (d.prefix.counter !== s.counter++) throw new MaifError('MAIF_ERR_COUNTER', `block #${h.seq} is out of order in its session`, { offset: b.offset, seq: h.seq })
    if ((d.prefix.enc === ENC_AES_256_GCM) !== (s.key !== null)) throw new MaifError('MAIF_ERR_PAYLOAD', `block #${h.seq} encryption does not match its session`, { offset: b.offset, seq: h.seq })
    const compressed = openBody(s.key, this.#containerId, s.id, h, b.bytes, d, b.offset)
    return { kind: 'opened', seq: h.seq, offset: b.offset, type: h.type, flags: h.flags, pub: d.pub, codec: d.prefix.codec, plainLen: d.prefix.plainLen, compressed }
  }
}
