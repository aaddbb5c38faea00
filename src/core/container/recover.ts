// Crash recovery (FORMAT.md §7) is for torn tails. It keeps the longest prefix that ends in a verified checkpoint
// + tail and cuts what follows, but only when nothing after that prefix is a valid commit: a later checkpoint +
// tail that is well formed means the damage is in the middle of committed data, and then recovery refuses and
// reports what is wrong and where (a salvage writes the verified prefix to a new file instead). Whatever it cuts
// it first saves, as bytes, to FILE.recovery-<offset>.bin, and records in FILE.recovery.jsonl; if it cannot
// (no space, a failed write), it cuts nothing.
import { open, statfs as fsStatfs, unlink, type FileHandle } from 'node:fs/promises'
import { constants, statSync } from 'node:fs'
import { createHash, createPublicKey, type KeyObject } from 'node:crypto'
import { dirname } from 'node:path'
import { MaifError, wrapError, type ErrorCode } from '../errors.js'
import { decodeHeader, decodeSession, decodeTailPayload, HEADER_LEN, TAIL_LEN, TAIL_MAGIC } from '../format/format.js'
import { decodeCheckpoint, decodeNote } from '../format/checkpoint.js'
import { keyIdOf, verifySignature } from '../format/signing.js'
import { readAt, withFile } from '../format/io.js'
import { ContainerVerifier } from './verify.js'
import { scanBoxes } from './scanner.js'
import { ContainerLock } from './lock.js'

export interface RecoverOptions {
  /** Keys that checkpoints must be signed by (as in verify); without them, the key each session names. */
  pinned?: readonly KeyObject[]
  /** Report what would be done; change nothing. */
  dryRun?: boolean
  /** Write the verified prefix to this new file (never overwritten) instead of cutting anything. */
  salvage?: string
  /** Free space of a directory (default fs.statfs); injectable for tests. */
  statfs?: (dir: string) => Promise<{ bavail: number | bigint; bsize: number | bigint }>
}

export interface LaterCommit { checkpointOffset: number; tailOffset: number; treeSize: number; end: number }

export interface RecoverResult {
  path: string
  size: number
  /** clean: nothing to do; cut / would-cut: a torn tail; refused: damage before a valid commit; salvaged: see salvage. */
  action: 'clean' | 'cut' | 'would-cut' | 'refused' | 'salvaged'
  keptBytes: number
  droppedBytes: number
  droppedBoxes: number
  treeSize: number
  reason: string | null
  /** The first problem after the kept prefix (what makes the file not clean), with where it was found. */
  damage: { code: ErrorCode; offset: number | null; seq: number | null; message: string } | null
  /** Valid commits (checkpoint + tail) found after the kept prefix: data recovery must not delete. */
  laterCommits: LaterCommit[]
  /** Where the cut bytes were saved, and the record of the cut. */
  savedTo: string | null
  logFile: string | null
  salvage: { path: string; bytes: number; treeSize: number } | null
}

export async function recoverContainer(path: string, opts: RecoverOptions = {}): Promise<RecoverResult> {
  // Cutting a file that a writer is appending to would cut its uncommitted (not torn) boxes: take its lock.
  // A dry run and a salvage only read the container.
  const lock = opts.dryRun || opts.salvage !== undefined ? null : await ContainerLock.acquire(path, 'maif recover')
  try {
    return await withFile(path, opts.dryRun || opts.salvage !== undefined ? 'r' : 'r+', (fh, size) => recoverOpen(path, fh, size, opts))
  } finally {
    await lock?.release()
  }
}

async function recoverOpen(path: string, fh: FileHandle, size: number, opts: RecoverOptions): Promise<RecoverResult> {
  // Recovery checks structure, chain and signatures and never opens a block: no reader limit on box sizes.
  const v = new ContainerVerifier({ ...(opts.pinned ? { pinned: opts.pinned } : {}), maxBoxBytes: Number.MAX_SAFE_INTEGER })
  let kept = 0
  let treeSize = 0
  let boxesAfter = 0
  let scanError: unknown
  let containerId: Buffer | null = null
  const signers = new Map<string, KeyObject>((opts.pinned ?? []).map((k) => [keyIdOf(k).toString('hex'), k]))
  try {
    for await (const b of scanBoxes(fh, size)) {
      await v.box(b.offset, b.header, b.bytes)
      boxesAfter++
      if (b.header.type === 'fhdr') containerId = Buffer.from(b.bytes.subarray(HEADER_LEN + 12, HEADER_LEN + 28))
      if (b.header.type === 'sess' && !opts.pinned?.length) addSigner(signers, b.bytes)
      if (b.header.type === 'tail') {
        kept = b.offset + b.header.size
        treeSize = b.header.seq
        boxesAfter = 0
      }
    }
  } catch (err) {
    if (err instanceof MaifError && err.code === 'MAIF_ERR_IO') throw err
    scanError = err
  }
  const verdict = v.finish(size, scanError)
  const first = verdict.errors[0]
  const damage = kept === size ? null : first
    ? { code: first.code, offset: first.offset ?? null, seq: first.seq ?? null, message: first.message }
    : { code: 'MAIF_ERR_TORN' as const, offset: kept, seq: null, message: 'the container does not end in a committed tail' }
  const result: RecoverResult = {
    path, size, action: 'clean', keptBytes: kept, droppedBytes: 0, droppedBoxes: 0, treeSize,
    reason: damage ? `${damage.code}: ${damage.message}` : null, damage, laterCommits: [], savedTo: null, logFile: null, salvage: null,
  }
  if (kept === 0 && size > 0) {
    // Nothing was ever committed. A writer killed before its first checkpoint leaves the start of a file
    // header: that file may be cut to empty (a fresh container). Anything else is not ours to cut.
    const head = await readAt(fh, 0, Math.min(size, 8)).catch(() => Buffer.alloc(0))
    const MAIF_START = Buffer.from([0, 0, 0, 1, 0x66, 0x68, 0x64, 0x72]) // size32 = 1, 'fhdr'
    if (head.length === 0 || !head.equals(MAIF_START.subarray(0, head.length))) {
      throw new MaifError('MAIF_ERR_TORN', `${path} is not a MAIF container and has no committed checkpoint${result.reason ? ` (${result.reason})` : ''}; nothing was changed`)
    }
  }
  if (damage === null) {
    if (opts.salvage !== undefined) await writeSalvage(path, fh, opts.salvage, kept, treeSize, result)
    return result
  }
  // Anything valid after the cut point? Then this is not a torn tail, and nothing may be cut.
  result.laterCommits = await findLaterCommits(fh, size, kept, containerId, signers)
  if (opts.salvage !== undefined) {
    await writeSalvage(path, fh, opts.salvage, kept, treeSize, result)
    return result
  }
  if (result.laterCommits.length > 0) {
    result.action = 'refused'
    return result
  }
  result.droppedBytes = size - kept
  result.droppedBoxes = boxesAfter
  if (opts.dryRun) {
    result.action = 'would-cut'
    return result
  }
  await saveThenCut(path, fh, size, kept, result, opts.statfs ?? fsStatfs)
  result.action = 'cut'
  return result
}

function addSigner(signers: Map<string, KeyObject>, box: Buffer): void {
  try {
    const { info } = decodeSession(box.subarray(HEADER_LEN), 0)
    const key = createPublicKey({ key: Buffer.from(info.signer.publicKey, 'base64'), format: 'der', type: 'spki' })
    signers.set(keyIdOf(key).toString('hex'), key)
  } catch {
    // a malformed session box is the verifier's to report
  }
}

/**
 * Every well-formed commit after `from`: a tail box (header and payload checksums, magic, this container) whose
 * checkpoint sits right before it and commits to the same tree size. Its signature is checked when its key is
 * known (pinned, or named by a session seen before the damage); with an unknown key it counts as valid, so that
 * recovery errs on the side of keeping data.
 */
async function findLaterCommits(fh: FileHandle, size: number, from: number, containerId: Buffer | null, signers: Map<string, KeyObject>): Promise<LaterCommit[]> {
  const found: LaterCommit[] = []
  const CHUNK = 8 << 20
  const MAGIC_AT = HEADER_LEN + 48 // the magic's offset inside a tail box
  for (let pos = from; pos < size; pos += CHUNK) {
    const len = Math.min(CHUNK + TAIL_MAGIC.length - 1, size - pos)
    const buf = await readAt(fh, pos, len)
    for (let i = buf.indexOf(TAIL_MAGIC); i !== -1 && i < CHUNK; i = buf.indexOf(TAIL_MAGIC, i + 1)) {
      const tailOffset = pos + i - MAGIC_AT
      if (tailOffset < from) continue
      const c = await commitAt(fh, size, tailOffset, containerId, signers)
      if (c) found.push(c)
    }
  }
  return found
}

async function commitAt(fh: FileHandle, size: number, tailOffset: number, containerId: Buffer | null, signers: Map<string, KeyObject>): Promise<LaterCommit | null> {
  try {
    if (tailOffset + TAIL_LEN > size) return null
    const tb = await readAt(fh, tailOffset, TAIL_LEN)
    const th = decodeHeader(tb, tailOffset, size - tailOffset)
    if (th.type !== 'tail' || th.size !== TAIL_LEN) return null
    const tail = decodeTailPayload(tb.subarray(HEADER_LEN), tailOffset)
    if (tail.endOffset !== tailOffset + TAIL_LEN || tail.treeSize !== th.seq || (containerId && !tail.containerId.equals(containerId))) return null
    if (tail.ckptOffset >= tailOffset) return null
    const ch = decodeHeader(await readAt(fh, tail.ckptOffset, HEADER_LEN), tail.ckptOffset, size - tail.ckptOffset)
    if (ch.type !== 'ckpt' || tail.ckptOffset + ch.size !== tailOffset || ch.seq !== tail.treeSize) return null
    const ck = decodeCheckpoint(await readAt(fh, tail.ckptOffset + HEADER_LEN, ch.size - HEADER_LEN), tail.ckptOffset)
    const note = decodeNote(ck.note, tail.ckptOffset)
    if (note.treeSize !== tail.treeSize || !note.containerId.equals(tail.containerId) || note.indexOffset !== tail.indexOffset) return null
    const key = signers.get(note.keyId.toString('hex'))
    if (key && !verifySignature(ck.alg, key, ck.note, ck.sig)) return null
    return { checkpointOffset: tail.ckptOffset, tailOffset, treeSize: tail.treeSize, end: tailOffset + TAIL_LEN }
  } catch (err) {
    if (err instanceof MaifError && err.code !== 'MAIF_ERR_IO') return null
    throw err
  }
}

/** Copies bytes [from, to) of the container into `out`, in bounded memory. */
async function copyRange(fh: FileHandle, out: FileHandle, from: number, to: number, hash?: ReturnType<typeof createHash>): Promise<void> {
  const buf = Buffer.allocUnsafe(Math.min(1 << 20, Math.max(to - from, 1)))
  for (let pos = from; pos < to;) {
    const n = Math.min(buf.length, to - pos)
    const { bytesRead } = await fh.read(buf, 0, n, pos)
    if (bytesRead !== n) throw new Error(`short read at offset ${pos}`)
    const chunk = buf.subarray(0, n)
    hash?.update(chunk)
    let done = 0
    while (done < n) done += (await out.write(chunk, done, n - done)).bytesWritten
    pos += n
  }
  await out.datasync()
}

const noSpace = (err: unknown): boolean => ['ENOSPC', 'EDQUOT'].includes((err as NodeJS.ErrnoException)?.code ?? '')

/** Saves [kept, size) to a sidecar, records it, then truncates. Any failure before the truncate cuts nothing. */
async function saveThenCut(path: string, fh: FileHandle, size: number, kept: number, result: RecoverResult, statfs: NonNullable<RecoverOptions['statfs']>): Promise<void> {
  const need = size - kept
  const dir = dirname(path)
  let free: number
  try {
    const st = await statfs(dir)
    free = Number(st.bavail) * Number(st.bsize)
  } catch (cause) {
    throw wrapError('MAIF_ERR_IO', `cannot tell the free space in ${dir}; nothing was cut`, cause)
  }
  // The sidecar, its record line, and a little room for the file system's own blocks.
  if (free < need + (64 << 10)) {
    throw new MaifError('MAIF_ERR_NO_SPACE', `recover must first save the ${need} bytes it would cut from ${path} (offset ${kept} on), but ${dir} has ${free} bytes free; nothing was cut. Free some space and run it again`)
  }
  const hash = createHash('sha256')
  let side: string | null = null
  let out: FileHandle | null = null
  try {
    for (let n = 1; out === null; n++) {
      side = `${path}.recovery-${kept}${n === 1 ? '' : `-${n}`}.bin`
      out = await open(side, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'EEXIST' && n < 1000) return null
        throw err
      })
    }
    await copyRange(fh, out, kept, size, hash)
    await out.close()
    out = null
    result.savedTo = side
    result.logFile = `${path}.recovery.jsonl`
    const rec = { time: new Date().toISOString(), path, size, keptBytes: kept, droppedBytes: need, droppedBoxes: result.droppedBoxes, treeSize: result.treeSize, reason: result.reason, savedTo: side, sha256: hash.digest('hex') }
    // Record first, then cut: a crash in between leaves a record (and the bytes) of a cut that recover redoes.
    const log = await open(result.logFile, 'a')
    try {
      await log.appendFile(JSON.stringify(rec) + '\n')
      await log.datasync()
    } finally {
      await log.close()
    }
  } catch (cause) {
    await out?.close().catch(() => undefined)
    if (side !== null) await unlink(side).catch(() => undefined)
    result.savedTo = null
    result.logFile = null
    const what = `cannot save the ${need} bytes recover would cut from ${path}${side ? ` to ${side}` : ''}; nothing was cut`
    throw noSpace(cause) ? wrapError('MAIF_ERR_NO_SPACE', what, cause) : wrapError('MAIF_ERR_IO', what, cause)
  }
  try {
    await fh.truncate(kept)
    await fh.datasync()
  } catch (cause) {
    throw wrapError('MAIF_ERR_IO', `the cut bytes were saved to ${side}, but truncating ${path} at ${kept} failed`, cause)
  }
}

/** Writes the verified prefix [0, kept) to a new file `out` (never an existing one, never the container). */
async function writeSalvage(path: string, fh: FileHandle, out: string, kept: number, treeSize: number, result: RecoverResult): Promise<void> {
  let same = false
  try {
    const a = statSync(path)
    const b = statSync(out)
    same = a.dev === b.dev && a.ino === b.ino
  } catch {
    // `out` does not exist: the exclusive create below decides
  }
  if (same) throw new MaifError('MAIF_ERR_USAGE', `--salvage ${out} is the container itself; salvage writes to a new file`)
  if (kept === 0) {
    throw new MaifError('MAIF_ERR_RECOVERY_REFUSED', `nothing in ${path} verifies before the damage (${result.reason ?? 'no committed checkpoint'}); ${out} was not written`)
  }
  let o: FileHandle
  try {
    o = await open(out, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644)
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') throw new MaifError('MAIF_ERR_USAGE', `--salvage ${out} already exists; salvage never overwrites a file`, { cause })
    throw wrapError('MAIF_ERR_IO', `cannot create ${out}`, cause)
  }
  try {
    await copyRange(fh, o, 0, kept)
  } catch (cause) {
    await o.close().catch(() => undefined)
    await unlink(out).catch(() => undefined)
    throw noSpace(cause) ? wrapError('MAIF_ERR_NO_SPACE', `cannot write ${out}`, cause) : wrapError('MAIF_ERR_IO', `cannot write ${out}`, cause)
  }
  await o.close()
  result.action = 'salvaged'
  result.salvage = { path: out, bytes: kept, treeSize }
}
