// An attacker's toolkit for the tamper tests: rebuilds a container from a list of boxes (in any order, from
// any source), recomputing everything that is NOT keyed — header seq/prev/CRC, index boxes, tails — and
// optionally data-box counters and checkpoint signatures (given a signing key). What is left for the
// verifier to catch is exactly what the attacker cannot recompute.
import {
  decodeHeader, decodeSession, encodeHeader, encodeIndex, encodeSession, encodeTailPayload, HEADER_LEN, isLeafType, isStructural,
  ZERO_HASH, type IndexEntry,
} from '../../src/core/format/format.js'
import { decodeCheckpoint, decodeNote, encodeCheckpoint, encodeNote, noteHash } from '../../src/core/format/checkpoint.js'
import { CompactTree, leafHash } from '../../src/core/format/merkle.js'
import type { Signer } from '../../src/core/format/signing.js'

export interface RebuildOptions {
  /** Renumber data-box counters 0, 1, 2… per session (an attacker without the session key can do this). */
  fixCounters?: boolean
  /** Re-sign every checkpoint with this signer (fresh note: size, root, prev hash, index offset, key id). */
  signer?: Signer
  /** Rewrite the `signer` field of every sess box to name this signer. */
  sessSigner?: Signer
}

export async function rebuild(boxes: readonly Buffer[], opts: RebuildOptions = {}): Promise<Buffer> {
  const out: Buffer[] = []
  let offset = 0
  let seq = 0
  let prev = ZERO_HASH
  const tree = new CompactTree()
  let entries: IndexEntry[] = []
  let lastIndex: number | null = null
  let prevNote: Buffer | null = null
  let ckptOffset = 0
  let containerId = Buffer.alloc(16)
  let counter = 0
  for (const src of boxes) {
    const h = decodeHeader(src.subarray(0, HEADER_LEN), 0, src.length)
    let payload: Buffer = Buffer.from(src.subarray(HEADER_LEN, h.size))
    switch (h.type) {
      case 'fhdr':
        containerId = Buffer.from(payload.subarray(12, 28))
        break
      case 'sess': {
        counter = 0
        if (opts.sessSigner) {
          const { sessionId, info } = decodeSession(payload, offset)
          const s = opts.sessSigner
          info.signer = { alg: s.alg, keyId: s.keyId.toString('hex'), publicKey: s.publicKey.export({ type: 'spki', format: 'der' }).toString('base64') }
          payload = encodeSession(sessionId, info)
        }
        break
      }
      case 'indx':
        payload = encodeIndex(lastIndex, entries)
        entries = []
        lastIndex = offset
        break
      case 'ckpt': {
        if (opts.signer) {
          const old = decodeNote(decodeCheckpoint(payload, offset).note, offset)
          const note = encodeNote({
            containerId, treeSize: seq, root: tree.root(), prevNoteHash: prevNote, indexOffset: lastIndex ?? 0,
            timeMs: old.timeMs, keyId: opts.signer.keyId,
          })
          payload = Buffer.concat(encodeCheckpoint({ alg: opts.signer.alg, note, sig: await opts.signer.sign(note), frontier: tree.frontier() }))
        }
        prevNote = noteHash(decodeCheckpoint(payload, offset).note)
        ckptOffset = offset
        break
      }
      case 'tail':
        payload = encodeTailPayload({ ckptOffset, indexOffset: lastIndex ?? 0, treeSize: seq, endOffset: offset + HEADER_LEN + payload.length, containerId })
        break
      default:
        if (!isStructural(h.type) && opts.fixCounters) payload.writeBigUInt64BE(BigInt(counter), 8)
        counter++
    }
    const size = HEADER_LEN + payload.length
    const box = Buffer.concat([encodeHeader({ type: h.type, size, version: h.version, flags: h.flags, seq, prev }), payload])
    if (isLeafType(h.type)) {
      const leaf = leafHash(box)
      if (h.type !== 'indx') entries.push({ seq, offset, size, type: h.type, version: h.version, flags: h.flags, leaf })
      tree.push(leaf)
      prev = leaf
      seq++
    }
    out.push(box)
    offset += size
  }
  return Buffer.concat(out)
}
