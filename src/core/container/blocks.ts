// The objects that flow between the write-path transforms, in order:
// records → Block (framer) → CompressedBlock (compressor) → SealedBlock (encryptor)
// → Box | PendingCheckpoint (hash-chainer) → Box (signer) → bytes on disk (container sink).
import type { BlockBuffers } from './write/block-buffers.js'

/** A logical block (or one segment of one) before compression. */
export interface Block {
  kind: 'block'
  type: string
  flags: number
  pub: Record<string, unknown>
  priv: Record<string, unknown>
  data: Buffer
  records: number
  /**
   * Where `data` came from a BlockBuffers: its ArrayBuffer belongs to this block alone, so it may be moved to a
   * worker whole and is given back to `recycle` once the block is compressed (or, when the compressed bytes are
   * written into it, once they are sealed: see CompressedBlock.recycle).
   */
  recycle?: BlockBuffers
}

export interface CompressedBlock {
  kind: 'compressed'
  type: string
  flags: number
  pub: Buffer // canonical JSON
  codec: number
  plainLen: number
  body: Buffer
  records: number
  /**
   * Set when `body` lies in memory of the write path's BlockBuffers (compressed into the block's own buffer):
   * whoever reads the body last gives it back, which sealing does once it has encrypted it into new memory.
   */
  recycle?: BlockBuffers
}

/** A data-box payload ready to frame; `enc` says whether it was encrypted. */
export interface SealedBlock {
  kind: 'sealed'
  type: string
  flags: number
  enc: number
  payload: Buffer[]
  payloadLen: number
  records: number
  /**
   * Hands the payload's memory back to the write path, once the box is written: set for a plaintext body that lies
   * in a recycled block buffer (an encrypted one goes back as soon as it is sealed into new memory).
   */
  release?: () => void
}

/** A framed box at a known file offset. */
export interface Box {
  kind: 'box'
  type: string
  seq: number
  offset: number
  size: number
  parts: Buffer[]
  records: number
  /** Called once the box is written: its parts' memory may then be reused (see SealedBlock.release). */
  release?: () => void
  /** Set on the tail that closes a commit: everything up to treeSize is durable once it is written. */
  commit?: Commit
}

export interface Commit {
  treeSize: number
  records: number
  checkpointOffset: number
  root: Buffer
}

export interface PendingCheckpoint {
  kind: 'checkpoint'
  offset: number
  seq: number
  size: number
  note: Buffer
  frontier: Buffer[]
  prevLeaf: Buffer
  tail: Box
  commit: Commit
}

export type ChainOutput = Box | PendingCheckpoint
