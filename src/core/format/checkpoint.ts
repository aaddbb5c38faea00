// Signed checkpoints (FORMAT.md §5.5): a C2SP-style note committing to (container, tree size, root).
import { createHash } from 'node:crypto'
import { MaifError } from '../errors.js'
import { algFromId, SIGNATURE_ALGS, type SignatureAlg } from './signing.js'

export const SIG_LEN: Record<SignatureAlg, number> = { 'ecdsa-p256': 64, ed25519: 64, 'rsa-pss-3072': 384 }
const NOTE_HEAD = 'maif.checkpoint/v1'

export interface CheckpointNote {
  containerId: Buffer
  treeSize: number
  root: Buffer
  prevNoteHash: Buffer | null
  indexOffset: number
  timeMs: number
  keyId: Buffer
}

export function encodeNote(n: CheckpointNote): Buffer {
  return Buffer.from([
    NOTE_HEAD,
    n.containerId.toString('hex'),
    String(n.treeSize),
    n.root.toString('base64'),
    n.prevNoteHash ? n.prevNoteHash.toString('hex') : '-',
    String(n.indexOffset),
    String(n.timeMs),
    n.keyId.toString('hex'),
    '',
  ].join('\n'), 'utf8')
}

const DEC = /^(0|[1-9][0-9]{0,15})$/
export function decodeNote(b: Buffer, offset: number): CheckpointNote {
  const lines = b.toString('utf8').split('\n')
  const bad = (): never => { throw new MaifError('MAIF_ERR_PAYLOAD', `checkpoint note at offset ${offset} is malformed`, { offset }) }
  if (lines.length !== 9 || lines[0] !== NOTE_HEAD || lines[8] !== '') bad()
  const [, cid, size, root, prev, idx, time, key] = lines as [string, string, string, string, string, string, string, string]
  if (!/^[0-9a-f]{32}$/.test(cid) || !DEC.test(size) || !DEC.test(idx) || !DEC.test(time) || !/^[0-9a-f]{64}$/.test(key)) bad()
  if (prev !== '-' && !/^[0-9a-f]{64}$/.test(prev)) bad()
  const rootBuf = Buffer.from(root, 'base64')
  if (rootBuf.length !== 32 || rootBuf.toString('base64') !== root) bad()
  return {
    containerId: Buffer.from(cid, 'hex'),
    treeSize: Number(size),
    root: rootBuf,
    prevNoteHash: prev === '-' ? null : Buffer.from(prev, 'hex'),
    indexOffset: Number(idx),
    timeMs: Number(time),
    keyId: Buffer.from(key, 'hex'),
  }
}

export function noteHash(note: Buffer): Buffer {
  return createHash('sha256').update(note).digest()
}

export interface CheckpointBox {
  alg: SignatureAlg
  note: Buffer
  sig: Buffer
  frontier: Buffer[]
}

export function checkpointPayloadLen(alg: SignatureAlg, noteLen: number, frontierLen: number): number {
  return 4 + 4 + noteLen + 4 + SIG_LEN[alg] + 1 + 32 * frontierLen
}

export function encodeCheckpoint(c: CheckpointBox): Buffer[] {
  if (c.sig.length !== SIG_LEN[c.alg]) {
    throw new MaifError('MAIF_ERR_SIGNATURE', `a ${c.alg} signature must be ${SIG_LEN[c.alg]} bytes, the signer returned ${c.sig.length}`)
  }
  const head = Buffer.alloc(8)
  head.writeUInt8(SIGNATURE_ALGS[c.alg], 0)
  head.writeUInt32BE(c.note.length, 4)
  const sigLen = Buffer.alloc(4)
  sigLen.writeUInt32BE(c.sig.length, 0)
  return [head, c.note, sigLen, c.sig, Buffer.from([c.frontier.length]), ...c.frontier]
}

export function decodeCheckpoint(p: Buffer, offset: number): CheckpointBox {
  const bad = (why: string): never => { throw new MaifError('MAIF_ERR_PAYLOAD', `checkpoint at offset ${offset} is malformed: ${why}`, { offset }) }
  if (p.length < 13) bad('too short')
  const alg = algFromId(p.readUInt8(0))
  if (alg === undefined) return bad('unknown signature algorithm')
  if (p.readUIntBE(1, 3) !== 0) bad('reserved bytes are not zero')
  const noteLen = p.readUInt32BE(4)
  if (8 + noteLen + 5 > p.length) bad('note length')
  const note = p.subarray(8, 8 + noteLen)
  const sigLen = p.readUInt32BE(8 + noteLen)
  if (sigLen !== SIG_LEN[alg]) bad('signature length')
  const fo = 12 + noteLen + sigLen
  if (fo + 1 > p.length) bad('signature length')
  const sig = p.subarray(12 + noteLen, fo)
  const n = p.readUInt8(fo)
  if (p.length !== fo + 1 + 32 * n) bad('frontier length')
  const frontier: Buffer[] = []
  for (let i = 0; i < n; i++) frontier.push(p.subarray(fo + 1 + 32 * i, fo + 33 + 32 * i))
  return { alg, note, sig, frontier }
}
