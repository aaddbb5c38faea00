// The container write path, built once from its stages as written: frame → compress → encrypt → chain →
// sign, then the appender. Stages a container cannot do without (frame, chain, sign) are added where the
// list leaves them out; a missing compress stage stores blocks uncompressed; encrypt is there exactly when
// the session has a key. The order is the container's, not a preference: anything else is refused.
import type { Transform } from 'node:stream'
import { MaifError } from '../errors.js'
import type { AwsOptions } from '../aws/config.js'
import type { Codec } from '../format/format.js'
import type { WorkerPool } from '../workers/worker-pool.js'
import type { WriterSession } from './session.js'
import { BlockBuffers } from './write/block-buffers.js'
import { BlockFramer, type FramerOptions } from './write/framer.js'
import { Compressor } from './write/compressor.js'
import { Encryptor } from './write/encryptor.js'
import { HashChainer, type CheckpointCadence } from './write/hash-chainer.js'
import { CheckpointSigner } from './write/signer.js'

export type WriteStage =
  | { type: 'frame'; options?: FramerOptions }
  | { type: 'compress'; codec?: Codec; level?: number }
  | { type: 'encrypt'; keyring?: string; kms?: { keyIds: string[]; aws?: AwsOptions } }
  | { type: 'chain'; checkpointEvery?: CheckpointCadence }
  | { type: 'sign'; keyring?: string; alg?: string; kms?: { keyId: string; aws?: AwsOptions } }

export const WRITE_ORDER = ['frame', 'compress', 'encrypt', 'chain', 'sign'] as const

/** The stages in container order with frame, chain and sign added where missing, and which were added. */
export function completeWritePath(stages: readonly WriteStage[]): { stages: WriteStage[]; added: Array<'frame' | 'chain' | 'sign'> } {
  let last = -1
  for (const s of stages) {
    const at = WRITE_ORDER.indexOf(s.type)
    if (at <= last) {
      throw new MaifError('MAIF_ERR_INVALID_OPTION', `the container write path runs ${WRITE_ORDER.join(' → ')}; '${s.type}' is out of order or repeated`)
    }
    last = at
  }
  const out = [...stages]
  const added: Array<'frame' | 'chain' | 'sign'> = []
  if (!out.some((s) => s.type === 'frame')) { out.unshift({ type: 'frame' }); added.push('frame') }
  if (!out.some((s) => s.type === 'chain')) {
    const signAt = out.findIndex((s) => s.type === 'sign')
    out.splice(signAt === -1 ? out.length : signAt, 0, { type: 'chain' })
    added.push('chain')
  }
  if (!out.some((s) => s.type === 'sign')) { out.push({ type: 'sign' }); added.push('sign') }
  return { stages: out, added }
}

export interface WritePathOptions {
  /** Compress on these worker threads. */
  pool?: WorkerPool
  /** Framer defaults under the frame stage's own options (a clock, for reproducible output). */
  framer?: FramerOptions
  /** Called with each stage's stream as it is built, to insert a meter after it; returns the streams to use. */
  around?: (type: WriteStage['type'], stream: Transform) => Transform[]
}

/** The streams of the write path (not the appender), in order. */
export function buildWritePath(session: WriterSession, stages: readonly WriteStage[], opts: WritePathOptions = {}): { streams: Transform[]; chainer: HashChainer } {
  const { stages: all } = completeWritePath(stages)
  const encrypt = all.some((s) => s.type === 'encrypt')
  if (encrypt !== session.encrypted) {
    throw new MaifError('MAIF_ERR_ENCRYPTION_REQUIRED', encrypt ? 'an encrypt stage needs a session opened with a key' : 'the session is encrypted, so the write path needs an encrypt stage')
  }
  const streams: Transform[] = []
  let chainer: HashChainer | undefined
  const add = (type: WriteStage['type'], t: Transform): void => { streams.push(...(opts.around ? opts.around(type, t) : [t])) }
  for (const s of all) {
    switch (s.type) {
      case 'frame': {
        // Block data memory goes round from the framer to the compressor and back (see BlockBuffers).
        const framer = { ...opts.framer, ...s.options }
        add('frame', new BlockFramer({ ...framer, buffers: new BlockBuffers(Math.min(framer.blockBytes ?? 1 << 20, 4 << 20)) }))
        // A missing compress stage still needs the block encoding the compressor writes: codec none.
        if (!all.some((x) => x.type === 'compress')) add('compress', new Compressor({ codec: 'none' }))
        break
      }
      case 'compress':
        add('compress', new Compressor({ codec: s.codec ?? 'zstd', ...(s.level === undefined ? {} : { level: s.level }), ...(opts.pool ? { pool: opts.pool } : {}) }))
        break
      case 'encrypt':
        add('encrypt', new Encryptor({ session }))
        break
      case 'chain':
        chainer = new HashChainer({ session, ...(s.checkpointEvery ? { checkpointEvery: s.checkpointEvery } : {}) })
        add('chain', chainer)
        break
      case 'sign':
        add('sign', new CheckpointSigner({ signer: session.signer }))
        break
    }
  }
  return { streams, chainer: chainer! }
}
