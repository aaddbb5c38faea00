// Random-access reader: opens a container in O(1) from its tail, loads the index chain, checks that the
// index reproduces the signed checkpoint root, then serves any block by seq with positional reads.
// Each block read is checked against its indexed leaf hash, so random reads are as verified as a full scan.
import { createPublicKey, type KeyObject } from 'node:crypto'
import { MaifError } from '../errors.js'
import {
  decodeHeader, decodeIndex, decodeSession, decodeTailPayload, ENC_AES_256_GCM, HEADER_LEN, TAIL_LEN, type IndexEntry, type SessionInfo,
} from '../format/format.js'
import { decodeCheckpoint, decodeNote, type CheckpointNote } from '../format/checkpoint.js'
import { consistencyProof, inclusionProof, leafHash, rootOf } from '../format/merkle.js'
import { keyIdOf, verifySignature } from '../format/signing.js'
import { openBlockData, parseDataBox, unwrapSessionKey } from '../format/open-block.js'
import { DEFAULT_MAX_BOX } from '../format/codec.js'
import { boxTooLarge } from './scanner.js'
import { readAt, type ByteSource, type ByteSourceStats } from '../format/io.js'
import { openByteSource, type OpenSourceOptions } from '../format/open-source.js'
import type { KeyProvider } from '../format/keyring.js'
import type { OpenedBlock } from './verify.js'

export interface ReaderOptions extends OpenSourceOptions {
  keyProvider?: KeyProvider
  /** Pinned signer keys; without them the checkpoint is checked against the key its session names. */
  pinned?: readonly KeyObject[]
  /** The largest data box (and declared plaintext) readBlock accepts (default DEFAULT_MAX_BOX). */
  maxBoxBytes?: number
}

export class ContainerReader {
  readonly path: string
  readonly containerId: Buffer
  readonly checkpoint: CheckpointNote
  readonly entries: readonly IndexEntry[]
  readonly #fh: ByteSource
  readonly #leaves: Buffer[]
  readonly #opts: ReaderOptions
  readonly #keys = new Map<number, { sessionId: Buffer; info: SessionInfo; key: KeyObject | null }>()

  private constructor(path: string, fh: ByteSource, containerId: Buffer, checkpoint: CheckpointNote, entries: IndexEntry[], leaves: Buffer[], opts: ReaderOptions) {
    this.path = path
    this.#fh = fh
    this.containerId = containerId
    this.checkpoint = checkpoint
    this.entries = entries
    this.#leaves = leaves
    this.#opts = opts
  }

  /** Opens a container file, or an S3 object (s3://bucket/key) read with ranged GETs. */
  static async open(location: string, opts: ReaderOptions = {}): Promise<ContainerReader> {
    return ContainerReader.fromSource(await openByteSource(location, opts), opts)
  }

  /** Opens a container over any ByteSource; the reader owns it (closes it on close, or if opening fails). */
  static async fromSource(fh: ByteSource, opts: ReaderOptions = {}): Promise<ContainerReader> {
    const path = fh.name
    const size = fh.size
    try {
      if (size < TAIL_LEN) throw new MaifError('MAIF_ERR_TORN', `${path} is too short to be a committed container`)
      const tb = await readAt(fh, size - TAIL_LEN, TAIL_LEN)
      const th = decodeHeader(tb, size - TAIL_LEN, TAIL_LEN)
      if (th.type !== 'tail') throw new MaifError('MAIF_ERR_TORN', `${path} does not end in a tail; run 'maif recover'`, { offset: size - TAIL_LEN })
      const tail = decodeTailPayload(tb.subarray(HEADER_LEN), size - TAIL_LEN)
      if (tail.endOffset !== size) throw new MaifError('MAIF_ERR_TAIL', 'the tail does not end the file', { offset: size - TAIL_LEN })
      const ch = decodeHeader(await readAt(fh, tail.ckptOffset, HEADER_LEN), tail.ckptOffset, size - tail.ckptOffset)
      if (ch.type !== 'ckpt') throw new MaifError('MAIF_ERR_TAIL', 'the tail does not point at a checkpoint', { offset: tail.ckptOffset })
      const ck = decodeCheckpoint(await readAt(fh, tail.ckptOffset + HEADER_LEN, ch.size - HEADER_LEN), tail.ckptOffset)
      const note = decodeNote(ck.note, tail.ckptOffset)
      // Walk the index chain back from the tail; collect entries and the index boxes' own leaves.
      const all: IndexEntry[] = []
      for (let off: number | null = tail.indexOffset; off !== null;) {
        const ih = decodeHeader(await readAt(fh, off, HEADER_LEN), off, size - off)
        if (ih.type !== 'indx') throw new MaifError('MAIF_ERR_INDEX', `offset ${off} is not an index box`, { offset: off })
        const bytes = await readAt(fh, off, ih.size)
        const { prevIndex, entries } = decodeIndex(bytes.subarray(HEADER_LEN), off)
        all.push({ seq: ih.seq, offset: off, size: ih.size, type: 'indx', version: ih.version, flags: ih.flags, leaf: leafHash(bytes) }, ...entries)
        if (prevIndex !== null && prevIndex >= off) throw new MaifError('MAIF_ERR_INDEX', 'the index chain does not go backwards', { offset: off })
        off = prevIndex
      }
      all.sort((a, b) => a.seq - b.seq)
      all.forEach((e, i) => { if (e.seq !== i) throw new MaifError('MAIF_ERR_INDEX', `the index has no entry for box #${i}`, { seq: i }) })
      const leaves = all.map((e) => e.leaf)
      if (leaves.length !== note.treeSize || !rootOf(leaves).equals(note.root)) {
        throw new MaifError('MAIF_ERR_CHECKPOINT', 'the index does not reproduce the root of the last checkpoint', { offset: tail.ckptOffset })
      }
      const reader = new ContainerReader(path, fh, tail.containerId, note, all.filter((e) => e.type !== 'indx'), leaves, opts)
      await reader.#checkSignature(ck.alg, ck.note, ck.sig, note, tail.ckptOffset)
      return reader
    } catch (err) {
      await fh.close()
      throw err
    }
  }

  async close(): Promise<void> {
    await this.#fh.close()
  }

  /** What reading cost so far: requests made (for S3: HEAD and GETs) and bytes fetched. */
  get io(): ByteSourceStats & { size: number } {
    return { ...this.#fh.stats(), size: this.#fh.size }
  }

  get treeSize(): number {
    return this.#leaves.length
  }

  /** RFC 9162 inclusion proof of box `seq` in the tree of `size` (default: the last checkpoint). */
  inclusionProof(seq: number, size = this.treeSize): Buffer[] {
    return inclusionProof(this.#leaves, seq, size)
  }

  /** RFC 9162 consistency proof that the tree of `oldSize` is a prefix of the tree of `newSize`. */
  consistencyProof(oldSize: number, newSize = this.treeSize): Buffer[] {
    return consistencyProof(this.#leaves, oldSize, newSize)
  }

  leaf(seq: number): Buffer {
    const l = this.#leaves[seq]
    if (!l) throw new MaifError('MAIF_ERR_NOT_FOUND', `there is no box #${seq}`)
    return l
  }

  /** Data blocks (optionally of one type), in order. */
  dataEntries(type?: string): IndexEntry[] {
    return this.entries.filter((e) => e.type !== 'fhdr' && e.type !== 'sess' && (type === undefined || e.type === type))
  }

  /** Reads, checks and (with a key provider) decrypts block `seq`. */
  async readBlock(seq: number): Promise<OpenedBlock & { counter: number }> {
    const e = this.entries.find((x) => x.seq === seq)
    if (!e || e.type === 'fhdr' || e.type === 'sess') throw new MaifError('MAIF_ERR_NOT_FOUND', `there is no data block #${seq} (the container has ${this.treeSize} boxes)`)
    const maxBox = this.#opts.maxBoxBytes ?? DEFAULT_MAX_BOX
    if (e.size > maxBox) throw boxTooLarge(e.offset, seq, e.size, maxBox)
    const bytes = await readAt(this.#fh, e.offset, e.size)
    const h = decodeHeader(bytes, e.offset, e.size)
    if (!leafHash(bytes).equals(e.leaf) || h.seq !== seq) throw new MaifError('MAIF_ERR_INDEX', `block #${seq} does not match its signed index entry`, { offset: e.offset, seq })
    const d = parseDataBox(e.offset, bytes)
    if (d.prefix.plainLen > maxBox) throw boxTooLarge(e.offset, seq, d.prefix.plainLen, maxBox, 'declares a plaintext of')
    const s = d.prefix.enc === ENC_AES_256_GCM ? await this.#sessionFor(seq) : null
    const { priv, data } = openBlockData(s?.key ?? null, this.containerId, s?.sessionId ?? Buffer.alloc(16), h, bytes, d, e.offset)
    return { seq, offset: e.offset, type: h.type, flags: h.flags, pub: d.pub, priv, data, counter: d.prefix.counter }
  }

  async #sessionFor(seq: number): Promise<{ sessionId: Buffer; info: SessionInfo; key: KeyObject | null }> {
    let sess: IndexEntry | undefined
    for (const e of this.entries) {
      if (e.seq > seq) break
      if (e.type === 'sess') sess = e
    }
    if (!sess) throw new MaifError('MAIF_ERR_STRUCTURE', `block #${seq} has no session`)
    const cached = this.#keys.get(sess.seq)
    if (cached) return cached
    const bytes = await readAt(this.#fh, sess.offset, sess.size)
    if (!leafHash(bytes).equals(sess.leaf)) throw new MaifError('MAIF_ERR_INDEX', `session box #${sess.seq} does not match its index entry`, { offset: sess.offset })
    const { sessionId, info } = decodeSession(bytes.subarray(HEADER_LEN), sess.offset)
    let key: KeyObject | null = null
    const provider = this.#opts.keyProvider
    if (provider && info.encryption === 'aes-256-gcm') key = await unwrapSessionKey(provider, this.containerId, sessionId, info, sess.offset)
    const s = { sessionId, info, key }
    this.#keys.set(sess.seq, s)
    return s
  }

  async #checkSignature(alg: Parameters<typeof verifySignature>[0], noteBytes: Buffer, sig: Buffer, note: CheckpointNote, offset: number): Promise<void> {
    const keyId = note.keyId.toString('hex')
    const pinned = this.#opts.pinned ?? []
    let key = pinned.find((k) => keyIdOf(k).toString('hex') === keyId)
    if (!key) {
      if (pinned.length > 0) throw new MaifError('MAIF_ERR_SIGNER_UNTRUSTED', `the last checkpoint is signed by ${keyId.slice(0, 16)}…, which is not pinned`, { offset })
      const s = (await this.#sessionFor(this.#lastSessionSeq())).info.signer
      key = createPublicKey({ key: Buffer.from(s.publicKey, 'base64'), format: 'der', type: 'spki' })
      if (keyIdOf(key).toString('hex') !== keyId) throw new MaifError('MAIF_ERR_SIGNER_UNTRUSTED', 'the last checkpoint is not signed by the key its session names', { offset })
    }
    if (!verifySignature(alg, key, noteBytes, sig)) throw new MaifError('MAIF_ERR_SIGNATURE', 'the last checkpoint signature is invalid', { offset })
  }

  #lastSessionSeq(): number {
    for (let i = this.entries.length - 1; i >= 0; i--) if (this.entries[i]!.type === 'sess') return this.entries[i]!.seq + 1
    return 0
  }
}
