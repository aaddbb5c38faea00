// Hash-chainer: frames blocks into boxes at their file offsets, links each to the previous leaf, grows
// the Merkle tree, and on a cadence emits the index and a checkpoint for the signer (FORMAT.md §4, §5.4).
import { Transform, type TransformCallback } from 'node:stream'
import { MaifError } from '../../errors.js'
import { BOX_VERSION, encodeHeader, encodeIndex, encodeTailPayload, ENC_NONE, HEADER_LEN, TAIL_LEN, type IndexEntry } from '../../format/format.js'
import { leafHashParts } from '../../format/merkle.js'
import { checkpointPayloadLen, encodeNote, noteHash } from '../../format/checkpoint.js'
import { sealBlock } from './encryptor.js'
import type { Box, ChainOutput, CompressedBlock, PendingCheckpoint, SealedBlock } from '../blocks.js'
import type { WriterSession } from '../session.js'

export interface CheckpointCadence {
  /** Checkpoint after this many data boxes (1 = every block is individually signed). */
  blocks?: number
  /** Checkpoint when this many ms have passed since the last one and data is pending (0 = off). */
  ms?: number
  /**
   * Checkpoint once the data boxes since the last one reach this many bytes (default 32 MiB). Readers that
   * release data only under a verified checkpoint hold what lies between two (cat's default window is 64 MiB).
   */
  bytes?: number
}

export const DEFAULT_CHECKPOINT_BYTES = 32 << 20

export interface HashChainerOptions {
  session: WriterSession
  checkpointEvery?: CheckpointCadence
  highWaterMark?: number
}

export class HashChainer extends Transform {
  readonly #s: WriterSession
  readonly #everyBlocks: number
  readonly #everyMs: number
  readonly #everyBytes: number
  #offset: number
  #entries: IndexEntry[] = []
  #pending = 0
  #pendingBytes = 0
  #records = 0
  #started = false
  #lastCommit: number
  #timer: NodeJS.Timeout | undefined

  constructor(opts: HashChainerOptions) {
    super({ objectMode: true, highWaterMark: opts.highWaterMark ?? 8 })
    if (!opts?.session) throw new MaifError('MAIF_ERR_INVALID_OPTION', 'the hash-chainer needs a writer session')
    const blocks = opts.checkpointEvery?.blocks ?? 256
    const ms = opts.checkpointEvery?.ms ?? 1000
    if (!Number.isInteger(blocks) || blocks < 1) throw new MaifError('MAIF_ERR_INVALID_OPTION', 'checkpointEvery.blocks must be a positive integer')
    if (!Number.isInteger(ms) || ms < 0) throw new MaifError('MAIF_ERR_INVALID_OPTION', 'checkpointEvery.ms must be a non-negative integer')
    const bytes = opts.checkpointEvery?.bytes ?? DEFAULT_CHECKPOINT_BYTES
    if (!Number.isSafeInteger(bytes) || bytes < 1) throw new MaifError('MAIF_ERR_INVALID_OPTION', 'checkpointEvery.bytes must be a positive integer')
    this.#s = opts.session
    this.#everyBlocks = blocks
    this.#everyMs = ms
    this.#everyBytes = bytes
    this.#offset = opts.session.startOffset
    this.#lastCommit = opts.session.now()
    // An idle stream (a quiet Kafka topic) must still get its pending blocks committed on time.
    if (ms > 0) this.#timer = setInterval(() => { if (this.#pending > 0 && !this.writableEnded) this.#commit() }, ms).unref()
  }

  override _transform(b: SealedBlock | CompressedBlock, _e: BufferEncoding, cb: TransformCallback): void {
    try {
      this.#start()
      let sealed: SealedBlock
      if (b?.kind === 'sealed') sealed = b
      else if (b?.kind === 'compressed') {
        // Only a session opened with encryption 'none' may frame plaintext; otherwise fail closed.
        if (this.#s.encrypted) throw new MaifError('MAIF_ERR_ENCRYPTION_REQUIRED', 'a block reached the hash-chainer unencrypted in an encrypted session (put an encryptor before it)')
        sealed = sealBlock(this.#s, b)
      } else throw new MaifError('MAIF_ERR_INVALID_OPTION', 'the hash-chainer takes compressed or encrypted blocks')
      if (this.#s.encrypted && sealed.enc === ENC_NONE) throw new MaifError('MAIF_ERR_ENCRYPTION_REQUIRED', 'a plaintext block reached an encrypted session')
      this.#frame(sealed.type, sealed.flags, sealed.payload, sealed.payloadLen, sealed.records, sealed.release)
      this.#pending++
      this.#pendingBytes += HEADER_LEN + sealed.payloadLen
      this.#records += sealed.records
      if (this.#pending >= this.#everyBlocks || this.#pendingBytes >= this.#everyBytes || (this.#everyMs > 0 && this.#s.now() - this.#lastCommit >= this.#everyMs)) this.#commit()
      cb()
    } catch (err) {
      cb(err as Error)
    }
  }

  override _flush(cb: TransformCallback): void {
    clearInterval(this.#timer)
    try {
      this.#start()
      this.#commit()
      cb()
    } catch (err) {
      cb(err as Error)
    }
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    clearInterval(this.#timer)
    cb(err)
  }

  #start(): void {
    if (this.#started) return
    this.#started = true
    for (const p of this.#s.preamble) this.#frame(p.type, 0, [p.payload], p.payload.length, 0)
  }

  #frame(type: string, flags: number, payload: Buffer[], payloadLen: number, records: number, release?: () => void): void {
    const s = this.#s
    const size = HEADER_LEN + payloadLen
    const header = encodeHeader({ type, size, version: BOX_VERSION, flags, seq: s.seq, prev: s.prev })
    const parts = [header, ...payload]
    const leaf = leafHashParts(parts)
    this.#entries.push({ seq: s.seq, offset: this.#offset, size, type, version: BOX_VERSION, flags, leaf })
    const box: Box = { kind: 'box', type, seq: s.seq, offset: this.#offset, size, parts, records, ...(release ? { release } : {}) }
    s.tree.push(leaf)
    s.prev = leaf
    s.seq++
    this.#offset += size
    this.push(box)
  }

  #commit(): void {
    const s = this.#s
    const indexOffset = this.#offset
    const index = encodeIndex(s.lastIndexOffset, this.#entries)
    this.#entries = []
    this.#frame('indx', 0, [index], index.length, 0)
    this.#entries = [] // index boxes are reached through their back-links, not listed (FORMAT.md §5.4)
    s.lastIndexOffset = indexOffset
    const note = encodeNote({
      containerId: s.containerId, treeSize: s.seq, root: s.tree.root(), prevNoteHash: s.prevNoteHash,
      indexOffset, timeMs: s.now(), keyId: s.signer.keyId,
    })
    const frontier = s.tree.frontier()
    const ckptOffset = this.#offset
    const ckptSize = HEADER_LEN + checkpointPayloadLen(s.signer.alg, note.length, frontier.length)
    const tailOffset = ckptOffset + ckptSize
    const tailPayload = encodeTailPayload({ ckptOffset, indexOffset, treeSize: s.seq, endOffset: tailOffset + TAIL_LEN, containerId: s.containerId })
    const commit = { treeSize: s.seq, records: this.#records, checkpointOffset: ckptOffset, root: s.tree.root() }
    const tail: Box = {
      kind: 'box', type: 'tail', seq: s.seq, offset: tailOffset, size: TAIL_LEN, records: 0, commit,
      parts: [encodeHeader({ type: 'tail', size: TAIL_LEN, version: BOX_VERSION, flags: 0, seq: s.seq, prev: s.prev }), tailPayload],
    }
    const pc: PendingCheckpoint = { kind: 'checkpoint', offset: ckptOffset, seq: s.seq, size: ckptSize, note, frontier, prevLeaf: s.prev, tail, commit }
    s.prevNoteHash = noteHash(note)
    this.#offset = tailOffset + TAIL_LEN
    this.#pending = 0
    this.#pendingBytes = 0
    this.#lastCommit = s.now()
    // Announced before it is written: a cursor records its position first, so that a crash can only
    // leave a cursor ahead of nothing (the container's committed tree size picks the matching entry).
    this.emit('checkpoint', pc.commit)
    this.push(pc satisfies ChainOutput)
  }
}
