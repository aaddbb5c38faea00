// Total verification (FORMAT.md §6): every box, the chain, the Merkle tree, every checkpoint signature
// against pinned keys, the tails, and with a key, every block's AEAD tag. One pass, bounded memory.
import type { FileHandle } from 'node:fs/promises'
import { createPublicKey, timingSafeEqual, type KeyObject } from 'node:crypto'
import { isAccessError, MaifError, wrapError, type ErrorCode } from '../errors.js'
import {
  DATA_PREFIX_LEN, decodeHeader, decodeFileHeader, decodeIndex, isStructural, decodeSession, decodeTailPayload,
  ENC_AES_256_GCM, ENC_NONE, HEADER_LEN, isLeafType, TAIL_LEN, ZERO_HASH, type BoxHeader, type IndexEntry, type SessionInfo,
} from '../format/format.js'
import { CompactTree, leafHash } from '../format/merkle.js'
import { decodeCheckpoint, decodeNote, noteHash } from '../format/checkpoint.js'
import { keyIdOf, verifySignature } from '../format/signing.js'
import { checkBlock, openBlockData, parseDataBox, unwrapSessionKey, type ParsedDataBox } from '../format/open-block.js'
import { DEFAULT_MAX_BOX } from '../format/codec.js'
import { boxTooLarge, scanBoxes } from './scanner.js'
import { HoldArena } from './hold-arena.js'
import { FileByteSource, readAtSync, readIntoSync } from '../format/io.js'
import { withSource, type OpenSourceOptions } from '../format/open-source.js'
import { OrderedJobs, type WorkerPool } from '../workers/worker-pool.js'
import type { KeyProvider } from '../format/keyring.js'

export interface Witness { treeSize: number; root: Buffer }

export interface VerifyOptions {
  /** Public keys checkpoints must be signed by. Without any, signatures are checked against the key the
   * file names, and the result says `pinned: false`: that proves consistency, not who wrote it. */
  pinned?: readonly KeyObject[]
  /** Decrypt and authenticate every block with keys from this provider. */
  keyProvider?: KeyProvider
  /** A checkpoint recorded earlier (e.g. by a SIEM); the container must extend it. */
  witness?: Witness
  /**
   * Called with each decrypted block (seq, type, flags, public and private metadata, data), in file order, and
   * only once the checkpoint that covers it has verified (against a pinned key when keys are pinned). Until
   * then the block's bytes are held, at most `window` bytes of them.
   */
  onBlock?: (b: OpenedBlock) => void | Promise<void>
  /**
   * onBlock's `data` is valid only until the promise it returns settles: every block is then opened into the
   * same memory (a reader that writes each block out and waits for the write needs no new memory per block).
   */
  reuseData?: boolean
  /**
   * With onBlock: the most box bytes held while waiting for the checkpoint that covers them (default 64 MiB, or
   * maxBoxBytes when that is larger).
   * A session that writes more than this before its next checkpoint fails with MAIF_ERR_WINDOW, and none
   * of its uncovered blocks is released.
   */
  window?: number
  /**
   * The largest data box, and the largest plaintext a box may declare, this reader accepts (default
   * DEFAULT_MAX_BOX: the writer's 4 MiB segment size plus 64 KiB). Larger ones fail with MAIF_ERR_BOX_TOO_LARGE
   * before anything is allocated for them.
   */
  maxBoxBytes?: number
}

/** The default hold window of onBlock readers (cat): twice the writer's default byte cadence of commits. */
export const DEFAULT_WINDOW = 64 << 20

export interface OpenedBlock {
  seq: number
  offset: number
  type: string
  flags: number
  pub: Record<string, unknown>
  priv: Record<string, unknown>
  data: Buffer
}

export interface VerifyIssue { code: ErrorCode; offset?: number; seq?: number; message: string }

export interface VerifyResult {
  ok: boolean
  containerId: string | null
  blocks: number
  records: number
  checkpoints: number
  sessions: number
  treeSize: number
  root: string | null
  pinned: boolean
  decrypted: boolean
  signers: Array<{ keyId: string; alg: string; pinned: boolean }>
  errors: VerifyIssue[]
  warnings: string[]
}


/** What a worker found when it opened a block before the main thread reached it: nothing wrong, or this error. */
export interface WorkerCheck { error?: MaifError }

interface SessionState {
  sessionId: Buffer
  info: SessionInfo
  encKey: KeyObject | null
  counter: number
}

export class ContainerVerifier {
  readonly #opts: VerifyOptions
  readonly #pinned: Map<string, KeyObject>
  readonly result: VerifyResult
  #containerId: Buffer | null = null
  #tree = new CompactTree()
  #prev: Buffer = ZERO_HASH
  #session: SessionState | null = null
  #entries: IndexEntry[] = []
  #lastIndex: number | null = null
  #lastCkpt: { offset: number; end: number; treeSize: number; noteHash: Buffer } | null = null
  #lastBox: { type: string; offset: number; end: number } | null = null
  #witnessChecked = false
  /** Every session id seen, with the offset of its session box (16 bytes per session). */
  readonly #sessionIds = new Map<string, number>()
  /**
   * Blocks waiting for the checkpoint that covers them (onBlock only), and their total box bytes. `box` is null
   * for a large block of a local file (rereadFrom): it is read again at its release, and must still hash to `leaf`.
   */
  #held: Array<{ offset: number; size: number; s: SessionState; leaf: Buffer; box: { h: BoxHeader; bytes: Buffer; d: ParsedDataBox } | null }> = []
  #heldBytes = 0
  /** Where held boxes are copied; reused after each release. */
  readonly #arena = new HoldArena()
  /** The local file held blocks are read again from (rereadFrom), and the memory they are read into. */
  #rereadFrom: FileHandle | null = null
  #rereadBuf: Buffer = Buffer.alloc(0)
  readonly #window: number
  readonly #maxBox: number

  constructor(opts: VerifyOptions = {}) {
    const w = opts.witness
    if (w !== undefined && (!Number.isSafeInteger(w.treeSize) || w.treeSize < 0 || !Buffer.isBuffer(w.root) || w.root.length !== 32)) {
      throw new MaifError('MAIF_ERR_INVALID_OPTION', 'a witness needs a non-negative integer treeSize and a root of 32 bytes')
    }
    const maxBox = opts.maxBoxBytes ?? DEFAULT_MAX_BOX
    if (!Number.isSafeInteger(maxBox) || maxBox < HEADER_LEN + DATA_PREFIX_LEN) throw new MaifError('MAIF_ERR_INVALID_OPTION', `maxBoxBytes must be an integer of at least ${HEADER_LEN + DATA_PREFIX_LEN}, got ${String(opts.maxBoxBytes)}`)
    this.#maxBox = maxBox
    // By default the window holds at least one box of the largest accepted size.
    const win = opts.window ?? Math.max(DEFAULT_WINDOW, maxBox)
    if (!Number.isSafeInteger(win) || win < 1) throw new MaifError('MAIF_ERR_INVALID_OPTION', `window must be a positive number of bytes, got ${String(opts.window)}`)
    this.#window = win
    this.#opts = opts
    this.#pinned = new Map((opts.pinned ?? []).map((k) => [keyIdOf(k).toString('hex'), k]))
    this.result = {
      ok: false, containerId: null, blocks: 0, records: 0, checkpoints: 0, sessions: 0, treeSize: 0, root: null,
      pinned: this.#pinned.size > 0, decrypted: opts.keyProvider !== undefined, signers: [], errors: [], warnings: [],
    }
  }

  /**
   * Checks one box. `bytes` is the whole box, or, when `leaf` (its leaf hash, computed elsewhere) is
   * given, at least its head (header, data prefix and public metadata). Nothing is retained.
   */
  /**
   * Checks one box, in file order. `worker`: a worker already authenticated and decompressed this data box
   * (verify with a key and a pool); its verdict stands in for checking it here, after the same structural checks.
   */
  async box(offset: number, h: BoxHeader, bytes: Buffer, leaf?: Buffer, owned = false, worker?: WorkerCheck): Promise<void> {
    if (h.size > this.#maxBox && !isStructural(h.type)) throw boxTooLarge(offset, h.seq, h.size, this.#maxBox)
    const seqNow = this.#tree.size
    const fail = (code: ErrorCode, msg: string): never => { throw new MaifError(code, msg, { offset, seq: h.seq }) }
    if (offset === 0 && h.type !== 'fhdr') fail('MAIF_ERR_STRUCTURE', 'the container does not start with a file header')
    if (offset !== 0 && h.type === 'fhdr') fail('MAIF_ERR_STRUCTURE', `a second file header at offset ${offset}`)
    if (h.seq !== seqNow) fail('MAIF_ERR_SEQUENCE', `box '${h.type}' at offset ${offset} has seq ${h.seq}, expected ${seqNow}`)
    if (!h.prev.equals(this.#prev)) fail('MAIF_ERR_CHAIN', `box '${h.type}' #${h.seq} at offset ${offset} does not link to the box before it (moved, dropped or spliced)`)
    const after = this.#lastBox?.type
    if (h.type === 'sess' && after !== 'fhdr' && after !== 'tail') fail('MAIF_ERR_STRUCTURE', `a session starts at offset ${offset} without a committed tail before it`)
    if (h.type !== 'sess' && after === 'fhdr') fail('MAIF_ERR_STRUCTURE', `box '${h.type}' at offset ${offset} follows the file header instead of a session box`)
    if (h.type === 'tail' && after !== 'ckpt') fail('MAIF_ERR_STRUCTURE', `a tail at offset ${offset} does not follow a checkpoint`)
    const payload = bytes.subarray(HEADER_LEN)
    switch (h.type) {
      case 'fhdr': {
        const f = decodeFileHeader(payload, offset)
        this.#containerId = f.containerId
        this.result.containerId = f.containerId.toString('hex')
        break
      }
      case 'sess': await this.#sess(offset, payload); break
      case 'indx': this.#index(offset, payload); break
      case 'ckpt': await this.#checkpoint(offset, h, payload); break
      case 'tail': this.#tail(offset, h, payload); break
      default: await this.#data(offset, h, bytes, owned, worker, leaf ??= leafHash(bytes))
    }
    if (isLeafType(h.type)) {
      leaf ??= leafHash(bytes)
      if (h.type !== 'indx') this.#entries.push({ seq: h.seq, offset, size: h.size, type: h.type, version: h.version, flags: h.flags, leaf })
      this.#tree.push(leaf)
      this.#prev = leaf
      this.#checkWitness(offset)
    }
    this.#lastBox = { type: h.type, offset, end: offset + h.size }
  }

  /** Whole-file checks once the last box was read; returns the result with `ok` set. */
  finish(fileSize: number, fatal?: unknown): VerifyResult {
    const r = this.result
    if (fatal !== undefined) {
      const e = fatal instanceof MaifError ? fatal : wrapError('MAIF_ERR_PAYLOAD', 'the container is malformed', fatal)
      r.errors.push({ code: e.code, message: e.message, ...(e.offset === undefined ? {} : { offset: e.offset }), ...(e.seq === undefined ? {} : { seq: e.seq }) })
    } else if (this.#lastBox === null) {
      r.errors.push({ code: 'MAIF_ERR_TRUNCATED', offset: 0, message: 'the container is empty' })
    } else if (this.#lastBox.type !== 'tail') {
      const committed = this.#lastCkpt?.treeSize ?? 0
      r.errors.push({
        code: this.#tree.size > committed ? 'MAIF_ERR_UNCOMMITTED' : 'MAIF_ERR_TORN', offset: this.#lastBox.end,
        message: `the container does not end in a committed tail: ${this.#tree.size - committed} box(es) after the last checkpoint (torn write or truncation; 'maif recover' cuts back to the last commit)`,
      })
    } else if (this.#lastBox.end !== fileSize) {
      r.errors.push({ code: 'MAIF_ERR_TAIL', offset: this.#lastBox.end, message: 'bytes follow the last tail' })
    } else if (this.#opts.witness && !this.#witnessChecked) {
      r.errors.push({ code: 'MAIF_ERR_WITNESS', message: `the container has ${this.#tree.size} leaves, fewer than the ${this.#opts.witness.treeSize} recorded by the witness (truncated)` })
    }
    r.treeSize = this.#lastCkpt?.treeSize ?? 0
    r.root = this.#lastCkpt ? this.#rootAtCheckpoint : null
    r.ok = r.errors.length === 0
    if (!r.pinned) r.warnings.push('no public key was pinned: signatures were checked against the key the file names, which proves consistency, not authorship (pass --pub)')
    return r
  }

  #rootAtCheckpoint: string | null = null

  #checkWitness(offset: number): void {
    const w = this.#opts.witness
    if (!w || this.#witnessChecked || this.#tree.size !== w.treeSize) return
    this.#witnessChecked = true
    const root = this.#tree.root()
    if (!timingSafeEqual(root, w.root)) throw new MaifError('MAIF_ERR_WITNESS', `the tree of size ${w.treeSize} has a different root than the witness recorded (history was rewritten)`, { offset })
  }

  async #sess(offset: number, payload: Buffer): Promise<void> {
    const { sessionId, info } = decodeSession(payload, offset)
    const id = sessionId.toString('hex')
    const first = this.#sessionIds.get(id)
    if (first !== undefined) {
      throw new MaifError('MAIF_ERR_DUPLICATE_SESSION', `session ${id} at offset ${offset} already occurred at offset ${first}: session ids are unique within a container, so this one was replayed`, { offset })
    }
    this.#sessionIds.set(id, offset)
    this.result.sessions++
    if (info.encryption === 'none') this.result.warnings.push(`session ${sessionId.toString('hex')} is recorded as plaintext (written without encryption)`)
    const provider = this.#opts.keyProvider
    const encKey = provider && info.encryption === 'aes-256-gcm' ? await unwrapSessionKey(provider, this.#containerId!, sessionId, info, offset) : null
    this.#session = { sessionId, info, encKey, counter: 0 }
  }

  /** `owned`: the caller will not reuse `bytes`, so a held block keeps them without a copy. */
  async #data(offset: number, h: BoxHeader, bytes: Buffer, owned: boolean, worker: WorkerCheck | undefined, leaf: Buffer): Promise<void> {
    const s = this.#session!
    const d = parseDataBox(offset, bytes, h.size)
    const where = { offset, seq: h.seq }
    if (d.prefix.counter !== s.counter) throw new MaifError('MAIF_ERR_COUNTER', `block #${h.seq} has session counter ${d.prefix.counter}, expected ${s.counter} (reordered or replayed)`, where)
    s.counter++
    const wantEnc = s.info.encryption === 'aes-256-gcm' ? ENC_AES_256_GCM : ENC_NONE
    if (d.prefix.enc !== wantEnc) throw new MaifError('MAIF_ERR_PAYLOAD', `block #${h.seq} encryption does not match its session`, where)
    this.result.blocks++
    if (typeof d.pub.records === 'number') this.result.records += d.pub.records
    const opens = s.encKey !== null || d.prefix.enc !== ENC_AES_256_GCM
    if (opens && (this.#opts.onBlock || s.encKey) && d.prefix.plainLen > this.#maxBox) throw boxTooLarge(offset, h.seq, d.prefix.plainLen, this.#maxBox, 'declares a plaintext of')
    // Without a key an encrypted block is checked by its leaf hash only, and not handed to onBlock.
    if (this.#opts.onBlock && opens) {
      // Nothing is released (or even decompressed) before the checkpoint that covers it verifies: a forged
      // session, or a bomb inside one, reaches no caller. Its bytes wait, within the window.
      if (this.#heldBytes + h.size > this.#window) {
        throw new MaifError('MAIF_ERR_WINDOW', `session ${s.sessionId.toString('hex')} holds more than ${this.#window} bytes of blocks before its next checkpoint ` +
          `(block #${h.seq} at offset ${offset} would make ${this.#heldBytes + h.size}); none of them was released. To read it, raise the window (maif cat --window BYTES)`, where)
      }
      this.#heldBytes += h.size
      // Of a local file, a large block is held as where it is and what it hashed to, and read again at its release:
      // a reader's memory then does not grow with the bytes between checkpoints. A small one is copied: a read per
      // box cost one-record blocks 20 % of cat's time, while their copies take little memory.
      if (this.#rereadFrom && h.size >= REREAD_FROM) {
        this.#held.push({ offset, size: h.size, s, leaf, box: null })
        return
      }
      const own = owned ? bytes : this.#arena.copy(bytes) // a scanner's chunk buffer is reused for the next boxes
      this.#held.push({ offset, size: h.size, s, leaf, box: { h, bytes: own, d: owned ? d : parseDataBox(offset, own, h.size) } })
      return
    }
    // With a key, a block is also checked by its tag and codec.
    if (!s.encKey) return
    if (worker) {
      if (worker.error) throw worker.error
      return
    }
    checkBlock(s.encKey, this.#containerId!, s.sessionId, h, bytes, d, offset)
  }

  readonly #plainBufs: Array<Buffer | undefined> = [undefined, undefined]
  /**
   * plainLen bytes of one of the two buffers that opened blocks alternate in (reuseData: see #release); each grows
   * to the largest block it held.
   */
  #plain(which: number, plainLen: number): Buffer {
    let b = this.#plainBufs[which]
    if (!b || b.length < plainLen) b = this.#plainBufs[which] = Buffer.allocUnsafe(Math.max(plainLen, 1 << 20))
    return b.subarray(0, plainLen)
  }

  /**
   * Held blocks of REREAD_FROM bytes or more are read again from this local file when their checkpoint releases
   * them, instead of being kept in memory (onBlock readers of local files).
   */
  rereadFrom(fh: FileHandle): void {
    this.#rereadFrom = fh
  }

  /** A held block read again from the file: the bytes its leaf hash was verified over, or MAIF_ERR_IO. */
  #reread(offset: number, size: number, leaf: Buffer): { h: BoxHeader; bytes: Buffer; d: ParsedDataBox } {
    if (this.#rereadBuf.length < size) this.#rereadBuf = Buffer.allocUnsafe(Math.max(size, 1 << 20))
    const bytes = this.#rereadBuf.subarray(0, size)
    // A file rewritten since the scan must not release bytes no checkpoint covers.
    if (readIntoSync(this.#rereadFrom!, bytes, size, offset) !== size || !timingSafeEqual(leafHash(bytes), leaf)) {
      throw new MaifError('MAIF_ERR_IO', `the block at offset ${offset} changed after it was verified (is the file being rewritten?); it was not released`, { offset })
    }
    return { h: decodeHeader(bytes, offset, size), bytes, d: parseDataBox(offset, bytes, size) }
  }

  /** The current session's key and ids, for a worker to open its blocks (null key: a plaintext session or no key). */
  get session(): { key: KeyObject | null; containerId: Buffer; sessionId: Buffer } | null {
    return this.#session && this.#containerId ? { key: this.#session.encKey, containerId: this.#containerId, sessionId: this.#session.sessionId } : null
  }

  /** Whether data boxes of the current session are opened when read (a key is there, and nothing is handed on). */
  get checksBlocks(): boolean {
    return !this.#opts.onBlock && this.#session?.encKey != null
  }

  /**
   * Opens and hands over every held block, in order: a checkpoint that covers them has just verified. Block j is
   * opened while block j-1's onBlock (a write into a pipe, say) is still pending, and handed over only once that
   * settled: the thread decompresses instead of waiting for a slow reader. With reuseData the blocks alternate
   * between two buffers, so a block's data stays intact until its own promise settled.
   */
  async #release(): Promise<void> {
    const held = this.#held
    this.#held = []
    this.#heldBytes = 0
    const onBlock = this.#opts.onBlock!
    let pending: Promise<void> | undefined
    try {
      for (const [j, { offset, size, s, leaf, box }] of held.entries()) {
        const { h, bytes, d } = box ?? this.#reread(offset, size, leaf)
        const into = this.#opts.reuseData ? this.#plain(j % 2, d.prefix.plainLen) : undefined
        const { priv, data } = openBlockData(s.encKey, this.#containerId!, s.sessionId, h, bytes, d, offset, into)
        await pending
        pending = (async () => onBlock({ seq: h.seq, offset, type: h.type, flags: h.flags, pub: d.pub, priv, data }))()
      }
      await pending
    } catch (err) {
      // The block before a failing one is still handed over in full, and its own failure, earlier in the file,
      // is the one reported.
      await pending
      throw err
    }
    // Every held box is opened (a block's data never points into its box), so their copies are dead.
    this.#arena.reset()
  }

  #index(offset: number, payload: Buffer): void {
    const { prevIndex, entries } = decodeIndex(payload, offset)
    if (prevIndex !== this.#lastIndex) throw new MaifError('MAIF_ERR_INDEX', `index at offset ${offset} links to ${prevIndex}, expected ${this.#lastIndex}`, { offset })
    const want = this.#entries
    if (entries.length !== want.length) throw new MaifError('MAIF_ERR_INDEX', `index at offset ${offset} lists ${entries.length} boxes, expected ${want.length}`, { offset })
    for (let i = 0; i < want.length; i++) {
      const a = entries[i]!
      const b = want[i]!
      if (a.seq !== b.seq || a.offset !== b.offset || a.size !== b.size || a.type !== b.type || a.version !== b.version || a.flags !== b.flags || !a.leaf.equals(b.leaf)) {
        throw new MaifError('MAIF_ERR_INDEX', `index at offset ${offset} misdescribes box #${b.seq}`, { offset, seq: b.seq })
      }
    }
    this.#entries = []
    this.#lastIndex = offset
  }

  async #checkpoint(offset: number, h: BoxHeader, payload: Buffer): Promise<void> {
    const where = { offset, seq: h.seq }
    const c = decodeCheckpoint(payload, offset)
    const n = decodeNote(c.note, offset)
    const root = this.#tree.root()
    if (!n.containerId.equals(this.#containerId!)) throw new MaifError('MAIF_ERR_CHECKPOINT', `checkpoint at offset ${offset} names another container`, where)
    if (n.treeSize !== this.#tree.size) throw new MaifError('MAIF_ERR_CHECKPOINT', `checkpoint at offset ${offset} commits to ${n.treeSize} boxes, but ${this.#tree.size} precede it`, where)
    if (!timingSafeEqual(n.root, root)) throw new MaifError('MAIF_ERR_CHECKPOINT', `checkpoint at offset ${offset} commits to a different Merkle root than the boxes before it`, where)
    let fr: CompactTree
    try {
      fr = CompactTree.fromFrontier(n.treeSize, c.frontier)
    } catch (cause) {
      throw new MaifError('MAIF_ERR_CHECKPOINT', `checkpoint at offset ${offset} has a malformed frontier`, { ...where, cause })
    }
    if (!fr.root().equals(root)) throw new MaifError('MAIF_ERR_CHECKPOINT', `checkpoint at offset ${offset} has a frontier that does not match its root`, where)
    const prevHash = this.#lastCkpt?.noteHash ?? null
    if ((prevHash === null) !== (n.prevNoteHash === null) || (prevHash && !prevHash.equals(n.prevNoteHash!))) {
      throw new MaifError('MAIF_ERR_CHECKPOINT', `checkpoint at offset ${offset} does not link to the previous checkpoint`, where)
    }
    if (n.indexOffset !== this.#lastIndex || this.#lastBox?.type !== 'indx') throw new MaifError('MAIF_ERR_CHECKPOINT', `checkpoint at offset ${offset} does not follow its index`, where)
    const keyId = n.keyId.toString('hex')
    let key = this.#pinned.get(keyId)
    const pinned = key !== undefined
    if (!key) {
      if (this.#pinned.size > 0) throw new MaifError('MAIF_ERR_SIGNER_UNTRUSTED', `checkpoint at offset ${offset} is signed by key ${keyId.slice(0, 16)}…, which is not pinned`, where)
      const s = this.#session?.info.signer
      if (!s || s.keyId !== keyId) throw new MaifError('MAIF_ERR_SIGNER_UNTRUSTED', `checkpoint at offset ${offset} is signed by key ${keyId.slice(0, 16)}…, which its session does not name`, where)
      try {
        key = createPublicKey({ key: Buffer.from(s.publicKey, 'base64'), format: 'der', type: 'spki' })
      } catch (cause) {
        throw new MaifError('MAIF_ERR_PAYLOAD', `the session's signer public key is malformed`, { ...where, cause })
      }
      if (keyIdOf(key).toString('hex') !== keyId) throw new MaifError('MAIF_ERR_SIGNER_UNTRUSTED', `the session's signer key does not hash to ${keyId}`, where)
    }
    if (!verifySignature(c.alg, key, c.note, c.sig)) throw new MaifError('MAIF_ERR_SIGNATURE', `checkpoint at offset ${offset} has an invalid ${c.alg} signature`, where)
    if (!this.result.signers.some((x) => x.keyId === keyId)) this.result.signers.push({ keyId, alg: c.alg, pinned })
    this.result.checkpoints++
    this.#lastCkpt = { offset, end: offset + h.size, treeSize: n.treeSize, noteHash: noteHash(c.note) }
    this.#rootAtCheckpoint = root.toString('base64')
    if (this.#held.length > 0) await this.#release()
  }

  #tail(offset: number, h: BoxHeader, payload: Buffer): void {
    const t = decodeTailPayload(payload, offset)
    const c = this.#lastCkpt!
    if (h.size !== TAIL_LEN || t.ckptOffset !== c.offset || c.end !== offset || t.indexOffset !== this.#lastIndex || t.treeSize !== this.#tree.size ||
        t.endOffset !== offset + TAIL_LEN || !t.containerId.equals(this.#containerId!)) {
      throw new MaifError('MAIF_ERR_TAIL', `tail at offset ${offset} does not point at the checkpoint and index before it`, { offset, seq: h.seq })
    }
  }
}

/**
 * Verifies a container file end to end. Never throws for a bad container: the result lists the errors.
 * With a worker pool (local files, no onBlock), the main thread reads only box heads while the workers read
 * the boxes from the file, check they start with those heads, hash them, and with a key authenticate and
 * decompress them (both cores); every box is still checked strictly in order, and the first error reported
 * is the one a sequential verify reports.
 */
export interface PoolOptions {
  /** Check boxes on these worker threads (local files, no onBlock). */
  pool?: WorkerPool
  /**
   * The pool is used only when the container's first 64 data boxes average at least this many bytes (default
   * 8 KiB): smaller boxes are read whole with their heads, and the main thread's own scan checks them faster.
   */
  poolMinBoxBytes?: number
}

export async function verifyContainer(location: string, opts: VerifyOptions & OpenSourceOptions & PoolOptions = {}): Promise<VerifyResult> {
  return withSource(location, opts, async (fh) => {
    const size = fh.size
    const v = new ContainerVerifier(opts)
    try {
      // The worker pool reads boxes from a local file by path; remote objects are scanned in large ranged reads.
      if (opts.pool && !opts.onBlock && fh instanceof FileByteSource && !mostlySmallBoxes(fh.fh, size, opts.poolMinBoxBytes ?? POOL_MIN_BOX)) await verifyParallel(location, fh.fh, size, v, opts.pool, opts.maxBoxBytes ?? DEFAULT_MAX_BOX)
      else {
        // A reader that holds boxes until their checkpoint (onBlock) copies each small box out of the scanner's chunk
        // and reads large ones again, so on a local file a small chunk serves as well; remote objects keep large
        // ranged reads.
        const chunk = opts.onBlock && fh instanceof FileByteSource ? { chunkBytes: HOLD_CHUNK } : {}
        if (opts.onBlock && fh instanceof FileByteSource) v.rereadFrom(fh.fh)
        for await (const b of scanBoxes(fh, size, { maxBoxBytes: opts.maxBoxBytes ?? DEFAULT_MAX_BOX, ...chunk })) await v.box(b.offset, b.header, b.bytes, undefined, b.owned)
      }
    } catch (err) {
      if (err instanceof MaifError && isAccessError(err.code)) throw err
      return v.finish(size, err)
    }
    return v.finish(size)
  })
}

const HEAD_READ = 4096
/** Held data boxes of at least this size are read again at their release instead of being copied (rereadFrom). */
const REREAD_FROM = 64 << 10
/** The scanner's chunk for a local file read by an onBlock reader (cat): see verifyContainer. */
const HOLD_CHUNK = 1 << 20
const BATCH_BYTES = 8 << 20
/** A batch also closes at this many boxes or bytes of heads held, whatever the size of the boxes they stand for. */
const BATCH_BOXES = 4096
const BATCH_HEAD_BYTES = 2 << 20

interface HeadBox { offset: number; header: BoxHeader; bytes: Buffer }

/**
 * Whether the container's first data boxes are small (one-record blocks), or few: workers then have nothing to
 * do that the main thread's own chunked scan does not do faster, since heads of small boxes are whole boxes
 * already, and a container of one or two boxes has nothing to split.
 */
function mostlySmallBoxes(fh: FileHandle, size: number, minMean: number): boolean {
  if (minMean <= 0) return false
  let n = 0
  let bytes = 0
  try {
    for (const b of scanHeads(fh, size)) {
      if (isStructural(b.header.type)) continue
      bytes += b.header.size
      if (++n === 64) break
    }
  } catch {
    return true // a damaged start: the sequential scan reports it
  }
  // A handful of boxes gives the workers nothing to share, only their start-up and memory to pay.
  return n < MIN_POOL_BOXES || bytes / n < minMean
}

/** The fewest data boxes (among the first 64) that a pool is used for. */
const MIN_POOL_BOXES = 4

/** Below this mean size of data boxes a verify stays on the main thread (about two head reads). */
const POOL_MIN_BOX = 8 << 10

/** Heads are read through a window of this size: many small boxes per read, one read per large box. */
const HEAD_WINDOW = 64 << 10

/**
 * Reads each box's head (or the whole box, for small and structural boxes) without reading bodies. What it
 * yields is copied out of the reused window (at most a head, or a small box), or is a structural box read
 * into memory of its own.
 */
function* scanHeads(fh: FileHandle, size: number): Generator<HeadBox> {
  const win = Buffer.allocUnsafe(HEAD_WINDOW)
  let winStart = 0
  let winLen = 0
  // After a box larger than the window, the next head is read alone: a full window would be mostly body bytes
  // that the workers read again (for 260 KB boxes, a quarter of the file read twice).
  let afterLarge = false
  /** `len` bytes at `pos`, from the window when they are in it (refilled at `pos` when not); fewer at the end. */
  const at = (pos: number, len: number): Buffer => {
    if (pos < winStart || pos + len > winStart + winLen) {
      if (len > HEAD_WINDOW) return readAtSync(fh, pos, len)
      winStart = pos
      winLen = readIntoSync(fh, win, Math.min(afterLarge ? len : HEAD_WINDOW, size - pos), pos)
      if (winLen < Math.min(len, size - pos)) return readAtSync(fh, pos, len) // reports the truncation
    }
    return win.subarray(pos - winStart, pos - winStart + Math.min(len, winStart + winLen - pos))
  }
  for (let pos = 0; pos < size;) {
    const head = at(pos, Math.min(HEAD_READ, size - pos))
    const header = decodeHeader(head, pos, size - pos)
    let bytes = head.subarray(0, Math.min(head.length, header.size))
    if (isStructural(header.type)) {
      if (header.size > bytes.length) bytes = at(pos, header.size)
    } else if (header.size > bytes.length && bytes.length >= HEADER_LEN + DATA_PREFIX_LEN) {
      const need = HEADER_LEN + DATA_PREFIX_LEN + bytes.readUInt32BE(HEADER_LEN + 4)
      if (need > bytes.length) bytes = at(pos, Math.min(need, header.size))
    }
    // Copied out of the window, which the next boxes reuse: a batch keeps only what it needs of each box.
    yield { offset: pos, header, bytes: bytes.buffer === win.buffer ? Buffer.from(bytes) : bytes }
    pos += header.size
    afterLarge = header.size > HEAD_WINDOW
  }
}

async function verifyParallel(path: string, fh: FileHandle, size: number, v: ContainerVerifier, pool: WorkerPool, maxBox: number): Promise<void> {
  // `stop`: the box at this index failed in its worker before it was hashed; nothing from it on is checked.
  type Done = { boxes: HeadBox[]; leaves: Array<Buffer | undefined>; checks: Array<WorkerCheck | undefined>; stop?: { index: number; error: MaifError } }
  const jobs = new OrderedJobs<Done>(pool.size * 2)
  const run = async (d: Done | undefined): Promise<void> => {
    if (!d) return
    for (let i = 0; i < d.boxes.length; i++) {
      const b = d.boxes[i]!
      if (d.stop?.index === i) throw d.stop.error
      await v.box(b.offset, b.header, b.bytes, d.leaves[i], false, d.checks[i])
    }
  }
  const submit = (boxes: HeadBox[]): Promise<Done> => {
    // Boxes read whole are hashed here; the others by a worker that reads them from the file, and with a key
    // (verify --keyring) also authenticates and decompresses them.
    // A box above the size limit fails before anything reads it, as it does in a sequential verify; the boxes
    // before it are checked first (hashed once, by the call for them).
    const big = boxes.findIndex((b) => b.header.size > maxBox && !isStructural(b.header.type))
    if (big !== -1) {
      const b = boxes[big]!
      const head = boxes.slice(0, big)
      return submit(head).then((d) => (d.stop || d.boxes.length < head.length ? d : { ...d, boxes, stop: { index: big, error: boxTooLarge(b.offset, b.header.seq, b.header.size, maxBox) } }))
    }
    const local = boxes.map((b) => (b.bytes.length === b.header.size && isLeafType(b.header.type) ? leafHash(b.bytes) : undefined))
    const remote = boxes.filter((b) => b.bytes.length < b.header.size)
    if (remote.length === 0) return Promise.resolve({ boxes, leaves: local, checks: [] })
    const open = v.checksBlocks
    const session = open ? v.session ?? undefined : undefined
    return pool.run({
      op: 'boxes', path, maxBox, ...(session ? { session } : {}),
      boxes: remote.map((b) => ({ offset: b.offset, size: b.header.size, head: b.bytes, open })),
    }).then((res): Done => {
      if (res.op !== 'boxes') throw new MaifError('MAIF_ERR_IO', 'the hashing worker answered the wrong request')
      const leaves = [...local]
      const checks: Array<WorkerCheck | undefined> = []
      for (let i = 0, j = 0; i < boxes.length; i++) {
        const b = boxes[i]!
        if (b.bytes.length === b.header.size) continue
        if (res.failed?.index === j) {
          const error = new MaifError(res.failed.code, res.failed.message, { offset: b.offset, seq: b.header.seq })
          // Hashed but not opened: the box gets its structural checks first, as a sequential verify does.
          if (j < res.leaves.length) {
            leaves[i] = Buffer.from(res.leaves[j]!)
            checks[i] = { error }
            return { boxes: boxes.slice(0, i + 1), leaves, checks }
          }
          return { boxes, leaves, checks, stop: { index: i, error } }
        }
        leaves[i] = Buffer.from(res.leaves[j]!)
        if (open) checks[i] = {}
        j++
      }
      return { boxes, leaves, checks }
    })
  }
  let batch: HeadBox[] = []
  let batchBytes = 0
  let headBytes = 0
  let scanError: unknown
  // Only a failure to read the next box is held back (and reported after the boxes before it were checked, as
  // a sequential scan would); a box that fails its checks ends the verify at once.
  const heads = scanHeads(fh, size)
  for (;;) {
    let next: IteratorResult<HeadBox>
    try {
      next = heads.next()
    } catch (err) {
      scanError = err
      break
    }
    if (next.done) break
    const b = next.value
    if (b.header.type === 'sess') {
      // A session's key is unwrapped when its box is checked, and the boxes after it are opened with that
      // key: everything up to and including it is checked before anything after it is sent.
      batch.push(b)
      await run(await jobs.add(submit(batch)))
      while (jobs.size > 0) await run(await jobs.drainOne())
      batch = []
      batchBytes = 0
      headBytes = 0
      continue
    }
    batch.push(b)
    batchBytes += b.header.size
    headBytes += b.bytes.length
    if (batchBytes >= BATCH_BYTES || headBytes >= BATCH_HEAD_BYTES || batch.length >= BATCH_BOXES) {
      await run(await jobs.add(submit(batch)))
      batch = []
      batchBytes = 0
      headBytes = 0
    }
  }
  if (batch.length) await run(await jobs.add(submit(batch)))
  while (jobs.size > 0) await run(await jobs.drainOne())
  if (scanError !== undefined) throw scanError
}

