// Byte layout of MAIF v1 boxes. docs/FORMAT.md is the normative text; this module is its only encoder/decoder.
import { crc32 } from 'node:zlib'
import { MaifError } from '../errors.js'

export const HEADER_LEN = 64
export const TAIL_LEN = 128
export const DATA_PREFIX_LEN = 32
export const INDEX_ENTRY_LEN = 64
export const NO_OFFSET = 0xffff_ffff_ffff_ffffn
export const MAGIC = Buffer.from('MAIF\r\n\x1a\n', 'latin1')
export const TAIL_MAGIC = Buffer.from('MAIFTAIL', 'latin1')
export const FORMAT_VERSION = 1
export const SUITE_V1 = 1
export const BOX_VERSION = 1
export const ZERO_HASH: Buffer = Buffer.alloc(32)
export const FLAG_CONTINUES = 0x000001

/** Registered data types (FourCC → name). Lower-case FourCCs are structural. */
export const BLOCK_TYPES = {
  TEXT: 'text',
  JSON: 'json',
  EMBD: 'embeddings',
  IMAG: 'image',
  AUDI: 'audio',
  VIDE: 'video',
  KGRF: 'knowledge-graph',
  BINA: 'binary',
  AUDT: 'audit',
  PROV: 'provenance',
} as const
export type DataType = keyof typeof BLOCK_TYPES
export type StructuralType = 'fhdr' | 'sess' | 'indx' | 'ckpt' | 'tail'

const STRUCTURAL = new Set(['fhdr', 'sess', 'indx', 'ckpt', 'tail'])
const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB
/** Per-type caps: a reader never allocates or accepts more than this for one box. */
const CAPS: Record<string, number> = { fhdr: 64 * KiB, sess: 64 * KiB, indx: 64 * MiB, ckpt: 64 * KiB, tail: TAIL_LEN }
export const DATA_CAP = GiB

export function isStructural(type: string): type is StructuralType {
  return STRUCTURAL.has(type)
}
export function isLeafType(type: string): boolean {
  return type !== 'ckpt' && type !== 'tail'
}
export function boxCap(type: string): number {
  return CAPS[type] ?? DATA_CAP
}
export function isValidFourCC(type: string): boolean {
  return /^[\x20-\x7e]{4}$/.test(type)
}
/** A type a writer may use for data: registered, or vendor range ('X…'). */
export function isWritableDataType(type: string): boolean {
  return isValidFourCC(type) && !isStructural(type) && (type in BLOCK_TYPES || type.startsWith('X')) && !/^[a-z]/.test(type)
}

export interface BoxHeader {
  type: string
  size: number
  version: number
  flags: number
  seq: number
  prev: Buffer
}

export function encodeHeader(h: BoxHeader): Buffer {
  const b = Buffer.allocUnsafe(HEADER_LEN)
  b.writeUInt32BE(1, 0)
  b.write(h.type, 4, 4, 'latin1')
  b.writeBigUInt64BE(BigInt(h.size), 8)
  b.writeUInt32BE(((h.version & 0xff) << 24 | (h.flags & 0xffffff)) >>> 0, 16)
  b.writeBigUInt64BE(BigInt(h.seq), 20)
  h.prev.copy(b, 28, 0, 32)
  b.writeUInt32BE(crc32(b.subarray(0, 60)), 60)
  return b
}

/**
 * Decodes and checks a header read at `offset`. `remaining` is the number of bytes from `offset` to EOF,
 * so that a size running past the end is reported as truncation, not as a short read later.
 */
export function decodeHeader(b: Buffer, offset: number, remaining: number): BoxHeader {
  if (b.length < HEADER_LEN || remaining < HEADER_LEN) {
    throw new MaifError('MAIF_ERR_TRUNCATED', `the container ends inside a box header at offset ${offset}`, { offset })
  }
  if (b.readUInt32BE(60) !== crc32(b.subarray(0, 60))) {
    throw new MaifError('MAIF_ERR_HEADER_CRC', `box header at offset ${offset} has a bad checksum (torn write or tampering)`, { offset })
  }
  if (b.readUInt32BE(0) !== 1) {
    throw new MaifError('MAIF_ERR_BOX_SIZE', `box at offset ${offset} does not use the 64-bit size form`, { offset })
  }
  const type = b.toString('latin1', 4, 8)
  if (!isValidFourCC(type)) throw new MaifError('MAIF_ERR_PAYLOAD', `box at offset ${offset} has an invalid type`, { offset })
  const size64 = b.readBigUInt64BE(8)
  const vf = b.readUInt32BE(16)
  const seq64 = b.readBigUInt64BE(20)
  const seq = Number(seq64)
  if (size64 < BigInt(HEADER_LEN) || size64 > BigInt(boxCap(type)) + BigInt(HEADER_LEN)) {
    throw new MaifError('MAIF_ERR_BOX_SIZE', `box '${type}' at offset ${offset} has size ${size64}, outside its bounds`, { offset, seq })
  }
  const size = Number(size64)
  if (size > remaining) {
    throw new MaifError('MAIF_ERR_TRUNCATED', `box '${type}' at offset ${offset} needs ${size} bytes but the container has ${remaining}`, { offset, seq })
  }
  const version = vf >>> 24
  const flags = vf & 0xffffff
  if (version !== BOX_VERSION) {
    throw new MaifError('MAIF_ERR_VERSION', `box '${type}' at offset ${offset} has version ${version}; this reader supports ${BOX_VERSION}`, { offset, seq })
  }
  const allowed = isStructural(type) ? 0 : FLAG_CONTINUES
  if ((flags & ~allowed) !== 0) {
    throw new MaifError('MAIF_ERR_VERSION', `box '${type}' at offset ${offset} has undefined flags 0x${flags.toString(16)}`, { offset, seq })
  }
  return { type, size, version, flags, seq, prev: Buffer.from(b.subarray(28, 60)) }
}

// ---- fhdr -----------------------------------------------------------------------------------------

export interface FileHeader { containerId: Buffer; createdMs: number }
export const FHDR_LEN = 36

export function encodeFileHeader(f: FileHeader): Buffer {
  const b = Buffer.alloc(FHDR_LEN)
  MAGIC.copy(b, 0)
  b.writeUInt16BE(FORMAT_VERSION, 8)
  b.writeUInt16BE(SUITE_V1, 10)
  f.containerId.copy(b, 12, 0, 16)
  b.writeBigUInt64BE(BigInt(f.createdMs), 28)
  return b
}

export function decodeFileHeader(p: Buffer, offset: number): FileHeader {
  if (p.length !== FHDR_LEN || !p.subarray(0, 8).equals(MAGIC)) {
    throw new MaifError('MAIF_ERR_PAYLOAD', `not a MAIF container: bad file header at offset ${offset}`, { offset })
  }
  const ver = p.readUInt16BE(8)
  const suite = p.readUInt16BE(10)
  if (ver !== FORMAT_VERSION || suite !== SUITE_V1) {
    throw new MaifError('MAIF_ERR_VERSION', `container format ${ver} suite ${suite} is not supported (this reader supports 1/1)`, { offset })
  }
  return { containerId: Buffer.from(p.subarray(12, 28)), createdMs: Number(p.readBigUInt64BE(28)) }
}

// ---- sess -----------------------------------------------------------------------------------------

export interface SessionInfo {
  createdMs: number
  encryption: 'aes-256-gcm' | 'none'
  keyProvider?: string
  keyId?: string
  wrappedKey?: string
  /** Further wrappings of the same data key under other keys (FORMAT.md §5.2); absent when there is one. */
  extraWraps?: Array<{ keyId: string; wrappedKey: string }>
  context?: Record<string, string>
  commitment?: string
  signer: { alg: string; keyId: string; publicKey: string }
  writer: string
}

export function encodeSession(sessionId: Buffer, info: SessionInfo): Buffer {
  const json = Buffer.from(canonicalJson(info), 'utf8')
  const b = Buffer.allocUnsafe(20 + json.length)
  sessionId.copy(b, 0, 0, 16)
  b.writeUInt32BE(json.length, 16)
  json.copy(b, 20)
  return b
}

export function decodeSession(p: Buffer, offset: number): { sessionId: Buffer; info: SessionInfo } {
  if (p.length < 20 || p.readUInt32BE(16) !== p.length - 20) {
    throw new MaifError('MAIF_ERR_PAYLOAD', `session box at offset ${offset} is malformed`, { offset })
  }
  const info = parseJsonObject(p.subarray(20), offset, 'session') as unknown as SessionInfo
  if ((info.encryption !== 'none' && info.encryption !== 'aes-256-gcm') || typeof info.signer !== 'object' || info.signer === null) {
    throw new MaifError('MAIF_ERR_PAYLOAD', `session box at offset ${offset} lacks its encryption or signer fields`, { offset })
  }
  if (info.encryption === 'aes-256-gcm' && (typeof info.wrappedKey !== 'string' || typeof info.commitment !== 'string' || typeof info.context !== 'object')) {
    throw new MaifError('MAIF_ERR_PAYLOAD', `encrypted session at offset ${offset} lacks its key fields`, { offset })
  }
  return { sessionId: Buffer.from(p.subarray(0, 16)), info }
}

// ---- data boxes -----------------------------------------------------------------------------------

export const CODECS = { none: 0, zstd: 1, gzip: 2, brotli: 3 } as const
export type Codec = keyof typeof CODECS
export const CODEC_NAMES: readonly Codec[] = ['none', 'zstd', 'gzip', 'brotli']
export const ENC_NONE = 0
export const ENC_AES_256_GCM = 1

export interface DataPrefix {
  codec: number
  enc: number
  pubLen: number
  counter: number
  plainLen: number
  bodyLen: number
}

export function encodeDataPrefix(d: DataPrefix): Buffer {
  const b = Buffer.alloc(DATA_PREFIX_LEN)
  b.writeUInt8(d.codec, 0)
  b.writeUInt8(d.enc, 1)
  b.writeUInt32BE(d.pubLen, 4)
  b.writeBigUInt64BE(BigInt(d.counter), 8)
  b.writeBigUInt64BE(BigInt(d.plainLen), 16)
  b.writeBigUInt64BE(BigInt(d.bodyLen), 24)
  return b
}

export function decodeDataPrefix(b: Buffer, payloadLen: number, offset: number): DataPrefix {
  if (payloadLen < DATA_PREFIX_LEN) throw new MaifError('MAIF_ERR_PAYLOAD', `data box at offset ${offset} is too short`, { offset })
  const d: DataPrefix = {
    codec: b.readUInt8(0),
    enc: b.readUInt8(1),
    pubLen: b.readUInt32BE(4),
    counter: Number(b.readBigUInt64BE(8)),
    plainLen: Number(b.readBigUInt64BE(16)),
    bodyLen: Number(b.readBigUInt64BE(24)),
  }
  if (b.readUInt16BE(2) !== 0 || d.codec >= CODEC_NAMES.length || d.enc > ENC_AES_256_GCM) {
    throw new MaifError('MAIF_ERR_PAYLOAD', `data box at offset ${offset} names an unknown codec or cipher`, { offset })
  }
  if (DATA_PREFIX_LEN + d.pubLen + d.bodyLen !== payloadLen || (d.enc === ENC_AES_256_GCM && d.bodyLen < 16)) {
    throw new MaifError('MAIF_ERR_PAYLOAD', `data box at offset ${offset} has inconsistent lengths`, { offset })
  }
  if (d.plainLen > DATA_CAP) throw new MaifError('MAIF_ERR_PAYLOAD', `data box at offset ${offset} declares ${d.plainLen} plaintext bytes, over the cap`, { offset })
  return d
}

/** Inner plaintext = privLen u32 ‖ priv (canonical JSON) ‖ data. */
export function encodeInner(priv: Buffer, data: Buffer): Buffer[] {
  const len = Buffer.allocUnsafe(4)
  len.writeUInt32BE(priv.length, 0)
  return [len, priv, data]
}

export function decodeInner(inner: Buffer, offset: number): { priv: Record<string, unknown>; data: Buffer } {
  if (inner.length < 4 || inner.readUInt32BE(0) > inner.length - 4) {
    throw new MaifError('MAIF_ERR_PAYLOAD', `block at offset ${offset} has a malformed inner payload`, { offset })
  }
  const n = inner.readUInt32BE(0)
  return { priv: parseJsonObject(inner.subarray(4, 4 + n), offset, 'private metadata'), data: inner.subarray(4 + n) }
}

// ---- indx -----------------------------------------------------------------------------------------

export interface IndexEntry {
  seq: number
  offset: number
  size: number
  type: string
  version: number
  flags: number
  leaf: Buffer
}

export function encodeIndex(prevIndex: number | null, entries: readonly IndexEntry[]): Buffer {
  const b = Buffer.alloc(16 + entries.length * INDEX_ENTRY_LEN)
  b.writeBigUInt64BE(prevIndex === null ? NO_OFFSET : BigInt(prevIndex), 0)
  b.writeUInt32BE(entries.length, 8)
  let o = 16
  for (const e of entries) {
    b.writeBigUInt64BE(BigInt(e.seq), o)
    b.writeBigUInt64BE(BigInt(e.offset), o + 8)
    b.writeBigUInt64BE(BigInt(e.size), o + 16)
    b.write(e.type, o + 24, 4, 'latin1')
    b.writeUInt32BE(((e.version << 24) | e.flags) >>> 0, o + 28)
    e.leaf.copy(b, o + 32)
    o += INDEX_ENTRY_LEN
  }
  return b
}

export function decodeIndex(p: Buffer, offset: number): { prevIndex: number | null; entries: IndexEntry[] } {
  if (p.length < 16 || p.readUInt32BE(12) !== 0 || p.length !== 16 + p.readUInt32BE(8) * INDEX_ENTRY_LEN) {
    throw new MaifError('MAIF_ERR_PAYLOAD', `index box at offset ${offset} is malformed`, { offset })
  }
  const prev = p.readBigUInt64BE(0)
  const entries: IndexEntry[] = []
  for (let o = 16; o < p.length; o += INDEX_ENTRY_LEN) {
    const vf = p.readUInt32BE(o + 28)
    entries.push({
      seq: Number(p.readBigUInt64BE(o)),
      offset: Number(p.readBigUInt64BE(o + 8)),
      size: Number(p.readBigUInt64BE(o + 16)),
      type: p.toString('latin1', o + 24, o + 28),
      version: vf >>> 24,
      flags: vf & 0xffffff,
      leaf: Buffer.from(p.subarray(o + 32, o + 64)),
    })
  }
  return { prevIndex: prev === NO_OFFSET ? null : Number(prev), entries }
}

// ---- tail -----------------------------------------------------------------------------------------

export interface Tail {
  ckptOffset: number
  indexOffset: number
  treeSize: number
  endOffset: number
  containerId: Buffer
}

export function encodeTailPayload(t: Tail): Buffer {
  const b = Buffer.alloc(TAIL_LEN - HEADER_LEN)
  b.writeBigUInt64BE(BigInt(t.ckptOffset), 0)
  b.writeBigUInt64BE(BigInt(t.indexOffset), 8)
  b.writeBigUInt64BE(BigInt(t.treeSize), 16)
  b.writeBigUInt64BE(BigInt(t.endOffset), 24)
  t.containerId.copy(b, 32, 0, 16)
  TAIL_MAGIC.copy(b, 48)
  b.writeUInt32BE(crc32(b.subarray(0, 56)), 56)
  return b
}

export function decodeTailPayload(p: Buffer, offset: number): Tail {
  if (p.length !== TAIL_LEN - HEADER_LEN || !p.subarray(48, 56).equals(TAIL_MAGIC) || p.readUInt32BE(56) !== crc32(p.subarray(0, 56)) || p.readUInt32BE(60) !== 0) {
    throw new MaifError('MAIF_ERR_TAIL', `tail box at offset ${offset} is corrupt`, { offset })
  }
  return {
    ckptOffset: Number(p.readBigUInt64BE(0)),
    indexOffset: Number(p.readBigUInt64BE(8)),
    treeSize: Number(p.readBigUInt64BE(16)),
    endOffset: Number(p.readBigUInt64BE(24)),
    containerId: Buffer.from(p.subarray(32, 48)),
  }
}

// ---- helpers --------------------------------------------------------------------------------------

import canonicalize from 'canonicalize'

/** RFC 8785 (JCS) canonical JSON, so that hashes and AAD cover exactly one encoding of a value. */
export function canonicalJson(value: unknown): string {
  const s = canonicalize(value)
  if (s === undefined) throw new MaifError('MAIF_ERR_INVALID_OPTION', 'metadata must be JSON-serialisable')
  return s
}

export function parseJsonObject(b: Buffer, offset: number, what: string): Record<string, unknown> {
  let v: unknown
  try {
    v = JSON.parse(b.toString('utf8'))
  } catch (cause) {
    throw new MaifError('MAIF_ERR_PAYLOAD', `${what} at offset ${offset} is not valid JSON`, { offset, cause })
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new MaifError('MAIF_ERR_PAYLOAD', `${what} at offset ${offset} is not a JSON object`, { offset })
  }
  return v as Record<string, unknown>
}
