// Encryptor: AES-256-GCM per block under the session key (FORMAT.md §5.3). It never passes a block
// through unencrypted: a session without a key is refused when the stage is built.
import { Transform, type TransformCallback } from 'node:stream'
import { MaifError } from '../../errors.js'
import { BOX_VERSION, DATA_PREFIX_LEN, encodeDataPrefix, ENC_AES_256_GCM, ENC_NONE } from '../../format/format.js'
import { buildAad, seal, TAG_LEN } from '../../format/crypto.js'
import type { CompressedBlock, SealedBlock } from '../blocks.js'
import type { WriterSession } from '../session.js'

export interface EncryptorOptions {
  session: WriterSession
  highWaterMark?: number
}

export function sealBlock(session: WriterSession, b: CompressedBlock): SealedBlock {
  const counter = session.nextCounter()
  const encrypt = session.encKey !== null
  const bodyLen = b.body.length + (encrypt ? TAG_LEN : 0)
  const prefix = encodeDataPrefix({ codec: b.codec, enc: encrypt ? ENC_AES_256_GCM : ENC_NONE, pubLen: b.pub.length, counter, plainLen: b.plainLen, bodyLen })
  const body = encrypt
    ? seal(session.encKey!, counter, buildAad({ containerId: session.containerId, sessionId: session.sessionId, type: b.type, version: BOX_VERSION, flags: b.flags, prefix, pub: b.pub }), b.body)
    : [b.body]
  // Encrypted into new memory, the compressed body is read no more: its buffer goes back to the write path. A
  // plaintext body is the box's payload itself: its buffer goes back once the box is written (release).
  if (encrypt && b.recycle) b.recycle.give(b.body.buffer as ArrayBuffer)
  const recycle = !encrypt ? b.recycle : undefined
  return {
    kind: 'sealed', type: b.type, flags: b.flags, enc: encrypt ? ENC_AES_256_GCM : ENC_NONE,
    payload: [prefix, b.pub, ...body], payloadLen: DATA_PREFIX_LEN + b.pub.length + bodyLen, records: b.records,
    ...(recycle ? { release: () => recycle.give(b.body.buffer as ArrayBuffer) } : {}),
  }
}

export class Encryptor extends Transform {
  readonly #session: WriterSession

  constructor(opts: EncryptorOptions) {
    super({ objectMode: true, highWaterMark: opts.highWaterMark ?? 4 })
    if (!opts?.session) throw new MaifError('MAIF_ERR_INVALID_OPTION', 'the encryptor needs a writer session')
    if (!opts.session.encrypted) {
      throw new MaifError('MAIF_ERR_ENCRYPTION_REQUIRED', 'the encryptor was given a session without a key; open the session with a key provider')
    }
    this.#session = opts.session
  }

  override _transform(b: CompressedBlock, _e: BufferEncoding, cb: TransformCallback): void {
    if (b?.kind !== 'compressed') return cb(new MaifError('MAIF_ERR_INVALID_OPTION', 'the encryptor takes compressed blocks (put a compressor before it)'))
    try {
      cb(null, sealBlock(this.#session, b))
    } catch (err) {
      cb(err as Error)
    }
  }
}
