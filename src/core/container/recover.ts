// Crash recovery (FORMAT.md §7): keep the longest prefix that ends in a verified checkpoint + tail, cut
// the rest, and record what was cut. Only bytes that were never committed are dropped.
import { appendFile } from 'node:fs/promises'
import { MaifError } from '../errors.js'
import { readAt, withFile } from '../format/io.js'
import { ContainerVerifier } from './verify.js'
import { scanBoxes } from './scanner.js'
import { ContainerLock } from './lock.js'
import type { KeyObject } from 'node:crypto'

export interface RecoverResult {
  path: string
  size: number
  keptBytes: number
  droppedBytes: number
  droppedBoxes: number
  treeSize: number
  reason: string | null
  logFile: string | null
}

export async function recoverContainer(path: string, opts: { pinned?: readonly KeyObject[]; dryRun?: boolean } = {}): Promise<RecoverResult> {
  // Cutting a file that a writer is appending to would cut its uncommitted (not torn) boxes: take its lock.
  const lock = opts.dryRun ? null : await ContainerLock.acquire(path, 'maif recover')
  try {
    return await recoverLocked(path, opts)
  } finally {
    await lock?.release()
  }
}

async function recoverLocked(path: string, opts: { pinned?: readonly KeyObject[]; dryRun?: boolean }): Promise<RecoverResult> {
  return withFile(path, 'r+', async (fh, size) => {
    // Recovery checks structure, chain and signatures and never opens a block: no reader limit on box sizes.
    const v = new ContainerVerifier({ ...(opts.pinned ? { pinned: opts.pinned } : {}), maxBoxBytes: Number.MAX_SAFE_INTEGER })
    let kept = 0
    let treeSize = 0
    let boxesAfter = 0
    let reason: string | null = null
    try {
      for await (const b of scanBoxes(fh, size)) {
        await v.box(b.offset, b.header, b.bytes)
        boxesAfter++
        if (b.header.type === 'tail') {
          kept = b.offset + b.header.size
          treeSize = b.header.seq
          boxesAfter = 0
        }
      }
    } catch (err) {
      if (err instanceof MaifError && err.code === 'MAIF_ERR_IO') throw err
      reason = err instanceof MaifError ? `${err.code}: ${err.message}` : String(err)
    }
    if (kept === 0 && size > 0) {
      // Nothing was ever committed. A writer killed before its first checkpoint leaves the start of a
      // file header: that file is cut to empty (a fresh container). Anything else is not ours to cut.
      const head = await readAt(fh, 0, Math.min(size, 8)).catch(() => Buffer.alloc(0))
      const MAIF_START = Buffer.from([0, 0, 0, 1, 0x66, 0x68, 0x64, 0x72]) // size32 = 1, 'fhdr'
      if (head.length === 0 || !head.equals(MAIF_START.subarray(0, head.length))) {
        throw new MaifError('MAIF_ERR_TORN', `${path} is not a MAIF container and has no committed checkpoint${reason ? ` (${reason})` : ''}; nothing was changed`)
      }
    }
    const result: RecoverResult = { path, size, keptBytes: kept, droppedBytes: size - kept, droppedBoxes: boxesAfter, treeSize, reason, logFile: null }
    if (kept < size && !opts.dryRun) {
      result.reason ??= 'uncommitted boxes after the last checkpoint'
      result.logFile = `${path}.recovery.jsonl`
      // Record first, then cut: a crash in between leaves a record of a cut that recover will redo.
      await appendFile(result.logFile, JSON.stringify({ time: new Date().toISOString(), ...result }) + '\n')
      await fh.truncate(kept)
      await fh.datasync()
    }
    return result
  })
}
