// A writer session: one open-for-append of a container (FORMAT.md §1). It owns the state that must be
// shared by the stages that write one file in order: counters, chain head, Merkle frontier, offsets, keys.
import { open, stat, unlink, type FileHandle } from 'node:fs/promises'
import { AsyncLocalStorage } from 'node:async_hooks'
import { randomBytes, type KeyObject } from 'node:crypto'
import { hostname } from 'node:os'
import { MaifError, wrapError } from '../errors.js'
import {
  decodeHeader, decodeIndex, decodeSession, decodeTailPayload, encodeFileHeader, encodeSession, HEADER_LEN, TAIL_LEN, ZERO_HASH,
  type SessionInfo,
} from '../format/format.js'
import { decodeCheckpoint, decodeNote, noteHash } from '../format/checkpoint.js'
import { CompactTree, leafHash } from '../format/merkle.js'
import { deriveSessionKeys } from '../format/crypto.js'
import { readAt } from '../format/io.js'
import { sessionContext } from '../format/open-block.js'
import type { KeyProvider } from '../format/keyring.js'
import { verifySignature, type Signer, type SignatureAlg } from '../format/signing.js'
import { ContainerLock } from './lock.js'

export interface SessionOptions {
  /** Where session data keys come from. Required unless encryption is explicitly 'none'. */
  keyProvider?: KeyProvider
  signer: Signer
  /** 'required' (default) fails when no key can be had; 'none' writes a session recorded as plaintext. */
  encryption?: 'required' | 'none'
  /** Free-form writer name recorded in the session box. */
  writer?: string
  /** Clock (Unix ms) and ids, injectable for reproducible output such as the test vectors. */
  now?: () => number
  containerId?: Buffer
  sessionId?: Buffer
  /**
   * Append to a container whose last checkpoint is signed by another key (default false: refused with
   * MAIF_ERR_SIGNER_MISMATCH). Readers then need every signer pinned.
   */
  allowNewSigner?: boolean
  /**
   * Append a plaintext session (encryption 'none') to a container that has encrypted sessions (default false:
   * refused with MAIF_ERR_PLAINTEXT_APPEND). Saying encryption 'none' is not enough for a mixed container.
   */
  allowPlaintextAppend?: boolean
}

/** The append permissions of SessionOptions, settable for a whole call tree with withAppendPolicy. */
export type AppendPolicy = Pick<SessionOptions, 'allowNewSigner' | 'allowPlaintextAppend'>

const appendPolicy = new AsyncLocalStorage<AppendPolicy>()

/**
 * Runs `fn` with append permissions that apply to every WriterSession.open inside it that does not set its own.
 * This is how `maif pack --allow-new-signer / --allow-plaintext-append` reach the sessions the pipeline engine
 * opens, without a global: the permission ends with `fn`.
 */
export function withAppendPolicy<T>(policy: AppendPolicy, fn: () => Promise<T>): Promise<T> {
  return appendPolicy.run({ ...policy }, fn)
}

/** A box the chainer must write before any data: fhdr (new file) and sess. */
export interface PreambleBox { type: 'fhdr' | 'sess'; payload: Buffer }

export class WriterSession {
  readonly path: string
  readonly fh: FileHandle
  readonly containerId: Buffer
  readonly sessionId: Buffer
  readonly encKey: KeyObject | null
  readonly signer: Signer
  readonly preamble: PreambleBox[]
  /** Offset at which this session's first box is written (end of the previous tail, or 0). */
  readonly startOffset: number
  readonly now: () => number
  // Chain state, advanced by the hash-chainer in file order.
  seq: number
  prev: Buffer
  tree: CompactTree
  prevNoteHash: Buffer | null
  lastIndexOffset: number | null
  #counter = 0
  readonly #lock: ContainerLock
  #closing: Promise<void> | null = null

  private constructor(init: {
    path: string; fh: FileHandle; containerId: Buffer; sessionId: Buffer; encKey: KeyObject | null; signer: Signer
    preamble: PreambleBox[]; startOffset: number; seq: number; prev: Buffer; tree: CompactTree
    prevNoteHash: Buffer | null; lastIndexOffset: number | null; now: () => number; lock: ContainerLock
  }) {
    this.#lock = init.lock
    this.now = init.now
    this.path = init.path
    this.fh = init.fh
    this.containerId = init.containerId
    this.sessionId = init.sessionId
    this.encKey = init.encKey
    this.signer = init.signer
    this.preamble = init.preamble
    this.startOffset = init.startOffset
    this.seq = init.seq
    this.prev = init.prev
    this.tree = init.tree
    this.prevNoteHash = init.prevNoteHash
    this.lastIndexOffset = init.lastIndexOffset
  }

  get encrypted(): boolean {
    return this.encKey !== null
  }

  /** The next data-box counter; also the GCM nonce counter, so it must never repeat under one key. */
  nextCounter(): number {
    return this.#counter++
  }

  /** Closes the file and releases the writer lock. Idempotent: the sink and the engine may both close. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await this.fh.close()
      } finally {
        await this.#lock.release()
      }
    })()
    return this.#closing
  }

  /**
   * Opens `path` for append, creating it if absent. One writer at a time: the writer lock (`path.lock`) is
   * taken first and held until close, or the open fails with MAIF_ERR_LOCKED naming the holder. An existing
   * file must end in a committed tail (O(1) check); a torn one is refused so that recovery is an explicit,
   * recorded act.
   */
  static async open(path: string, opts: SessionOptions): Promise<WriterSession> {
    const encryption = opts.encryption ?? 'required'
    if (encryption === 'required' && !opts.keyProvider) {
      throw new MaifError('MAIF_ERR_KEY_UNAVAILABLE', 'encryption is required but no key provider was given (pass a keyring, or set encryption: "none" explicitly)')
    }
    const lock = await ContainerLock.acquire(path, opts.writer ?? 'maif writer')
    let fh: FileHandle
    let existed = true
    try {
      existed = await stat(path).then(() => true, () => false)
      fh = await open(path, 'a+')
    } catch (cause) {
      await lock.release()
      throw wrapError('MAIF_ERR_IO', `cannot open ${path} for append`, cause)
    }
    try {
      const size = (await fh.stat()).size
      const now = opts.now ?? Date.now
      const sessionId = opts.sessionId ?? randomBytes(16)
      const preamble: PreambleBox[] = []
      let containerId: Buffer
      let seq = 0
      let prev = ZERO_HASH
      let tree = new CompactTree()
      let prevNoteHash: Buffer | null = null
      let lastIndexOffset: number | null = null
      if (size === 0) {
        containerId = opts.containerId ?? randomBytes(16)
        preamble.push({ type: 'fhdr', payload: encodeFileHeader({ containerId, createdMs: now() }) })
      } else {
        const st = await readCommittedState(fh, size, path)
        ;({ containerId, seq, prev, tree, prevNoteHash, lastIndexOffset } = st)
        await checkAppend(fh, size, path, st, opts.signer, encryption, { ...appendPolicy.getStore(), ...definedOnly(opts) })
      }
      let encKey: KeyObject | null = null
      const signer = opts.signer
      const info: SessionInfo = {
        createdMs: now(),
        encryption: encryption === 'none' ? 'none' : 'aes-256-gcm',
        signer: { alg: signer.alg, keyId: signer.keyId.toString('hex'), publicKey: signer.publicKey.export({ type: 'spki', format: 'der' }).toString('base64') },
        writer: opts.writer ?? `maif@${hostname()}`,
      }
      if (encryption === 'required') {
        const provider = opts.keyProvider!
        const context = sessionContext(containerId, sessionId)
        let dk
        try {
          dk = await provider.generateDataKey(context)
        } catch (cause) {
          throw keyFailure(provider.name, cause)
        }
        const keys = deriveSessionKeys(dk.key, containerId, sessionId)
        encKey = keys.encKey
        const [first, ...extra] = dk.wraps
        Object.assign(info, {
          keyProvider: provider.name, keyId: first.keyId, wrappedKey: first.wrapped.toString('base64'), context,
          ...(extra.length > 0 ? { extraWraps: extra.map((w) => ({ keyId: w.keyId, wrappedKey: w.wrapped.toString('base64') })) } : {}),
          commitment: keys.commitment.toString('base64'),
        })
      }
      preamble.push({ type: 'sess', payload: encodeSession(sessionId, info) })
      return new WriterSession({ path, fh, containerId, sessionId, encKey, signer, preamble, startOffset: size, seq, prev, tree, prevNoteHash, lastIndexOffset, now, lock })
    } catch (err) {
      await fh.close()
      // A file this open created gets no bytes when the session cannot start: remove it, so that a failed
      // write (e.g. KMS unreachable) leaves no output behind. The lock is still held, so it is ours to remove.
      if (!existed) await unlink(path).catch(() => undefined)
      await lock.release()
      throw err
    }
  }
}

/**
 * A key provider's failure to start a session. Typed provider errors (MAIF_ERR_KMS_*) keep their code, so a
 * caller can tell "access denied" from "unreachable"; anything else is MAIF_ERR_KEY_UNAVAILABLE.
 */
function keyFailure(provider: string, cause: unknown): MaifError {
  const msg = `the key provider '${provider}' could not generate a session key; nothing was written`
  if (cause instanceof MaifError && cause.code.startsWith('MAIF_ERR_KMS_')) return new MaifError(cause.code, `${msg}: ${cause.message}`, { cause })
  return wrapError('MAIF_ERR_KEY_UNAVAILABLE', msg, cause)
}

function definedOnly(opts: SessionOptions): AppendPolicy {
  const p: AppendPolicy = {}
  if (opts.allowNewSigner !== undefined) p.allowNewSigner = opts.allowNewSigner
  if (opts.allowPlaintextAppend !== undefined) p.allowPlaintextAppend = opts.allowPlaintextAppend
  return p
}

/**
 * The rules for appending to an existing container. The last checkpoint (the one this session's first
 * checkpoint will extend and sign over) must be signed by this writer's key, and its signature must verify,
 * unless a new signer is allowed explicitly; a plaintext session goes onto a container with encrypted sessions
 * only when that is allowed explicitly.
 */
async function checkAppend(fh: FileHandle, size: number, path: string, st: CommittedState, signer: Signer, encryption: 'required' | 'none', policy: AppendPolicy): Promise<void> {
  const last = st.checkpoint
  const theirs = last.keyId.toString('hex')
  const mine = signer.keyId.toString('hex')
  if (theirs !== mine) {
    if (!policy.allowNewSigner) {
      throw new MaifError('MAIF_ERR_SIGNER_MISMATCH', `${path} was last signed by key ${theirs.slice(0, 16)}…, not by this writer's key ${mine.slice(0, 16)}…; ` +
        `appending would add a second signer, and every reader would then have to pin both keys. Nothing was written. ` +
        `If that is intended, allow it explicitly (maif pack --allow-new-signer, or the session option allowNewSigner)`, { offset: st.ckptOffset })
    }
  } else if (!verifySignature(last.alg, signer.publicKey, last.note, last.sig)) {
    throw new MaifError('MAIF_ERR_SIGNATURE', `the last checkpoint of ${path} names this writer's key but its signature does not verify; nothing was written (run 'maif verify ${path}')`, { offset: st.ckptOffset })
  }
  if (encryption === 'none' && !policy.allowPlaintextAppend) {
    const encrypted = (await committedSessions(fh, size, st)).filter((x) => x.info.encryption !== 'none')
    if (encrypted.length > 0) {
      throw new MaifError('MAIF_ERR_PLAINTEXT_APPEND', `${path} has ${encrypted.length} encrypted session(s); a plaintext session would store this data unencrypted beside them. ` +
        `Nothing was written. If that is intended, allow it explicitly (maif pack --allow-plaintext-append, or the session option allowPlaintextAppend)`, { offset: encrypted[0]!.offset })
    }
  }
}

/** The session boxes of a committed container, found through the index chain (each checked against its entry). */
async function committedSessions(fh: FileHandle, size: number, st: CommittedState): Promise<Array<{ offset: number; info: SessionInfo }>> {
  const out: Array<{ offset: number; info: SessionInfo }> = []
  for (let off: number | null = st.lastIndexOffset; off !== null;) {
    const ih = decodeHeader(await readAt(fh, off, HEADER_LEN), off, size - off)
    if (ih.type !== 'indx') throw new MaifError('MAIF_ERR_INDEX', `offset ${off} is not an index box; run 'maif verify'`, { offset: off })
    const { prevIndex, entries } = decodeIndex(await readAt(fh, off + HEADER_LEN, ih.size - HEADER_LEN), off)
    for (const e of entries) {
      if (e.type !== 'sess') continue
      const bytes = await readAt(fh, e.offset, e.size)
      if (!leafHash(bytes).equals(e.leaf)) throw new MaifError('MAIF_ERR_INDEX', `session box at offset ${e.offset} does not match its index entry; run 'maif verify'`, { offset: e.offset })
      out.push({ offset: e.offset, info: decodeSession(bytes.subarray(HEADER_LEN), e.offset).info })
    }
    if (prevIndex !== null && prevIndex >= off) throw new MaifError('MAIF_ERR_INDEX', 'the index chain does not go backwards', { offset: off })
    off = prevIndex
  }
  return out.reverse()
}

export interface CommittedState {
  containerId: Buffer
  seq: number
  prev: Buffer
  tree: CompactTree
  prevNoteHash: Buffer | null
  lastIndexOffset: number | null
  ckptOffset: number
  /** The last checkpoint: its algorithm, note (decoded and raw) and signature. */
  checkpoint: { alg: SignatureAlg; note: Buffer; sig: Buffer; keyId: Buffer }
}

/** Reads the tail and the checkpoint it names: the O(1) open of FORMAT.md §5.6. */
export async function readCommittedState(fh: FileHandle, size: number, path: string): Promise<CommittedState> {
  const torn = (why: string, cause?: unknown): MaifError =>
    new MaifError('MAIF_ERR_TORN', `${path} does not end in a committed tail (${why}); run 'maif recover ${path}' first`, { cause })
  if (size < TAIL_LEN) throw torn('file too short')
  let tailHdr, tail
  try {
    const tb = await readAt(fh, size - TAIL_LEN, TAIL_LEN)
    tailHdr = decodeHeader(tb, size - TAIL_LEN, TAIL_LEN)
    if (tailHdr.type !== 'tail' || tailHdr.size !== TAIL_LEN) throw new Error('last box is not a tail')
    tail = decodeTailPayload(tb.subarray(HEADER_LEN), size - TAIL_LEN)
    if (tail.endOffset !== size || tail.treeSize !== tailHdr.seq) throw new Error('tail pointers do not match the file')
  } catch (cause) {
    throw torn(cause instanceof Error ? cause.message : 'bad tail', cause)
  }
  const ch = decodeHeader(await readAt(fh, tail.ckptOffset, HEADER_LEN), tail.ckptOffset, size - tail.ckptOffset)
  if (ch.type !== 'ckpt') throw torn('the tail does not point at a checkpoint')
  const ck = decodeCheckpoint(await readAt(fh, tail.ckptOffset + HEADER_LEN, ch.size - HEADER_LEN), tail.ckptOffset)
  const note = decodeNote(ck.note, tail.ckptOffset)
  const tree = CompactTree.fromFrontier(note.treeSize, ck.frontier)
  if (!tree.root().equals(note.root) || note.treeSize !== tail.treeSize || !note.containerId.equals(tail.containerId)) {
    throw new MaifError('MAIF_ERR_CHECKPOINT', `the last checkpoint of ${path} is inconsistent with its tail; run 'maif verify'`, { offset: tail.ckptOffset })
  }
  return {
    containerId: tail.containerId, seq: tail.treeSize, prev: tailHdr.prev, tree,
    prevNoteHash: noteHash(ck.note), lastIndexOffset: tail.indexOffset, ckptOffset: tail.ckptOffset,
    checkpoint: { alg: ck.alg, note: ck.note, sig: ck.sig, keyId: note.keyId },
  }
}
