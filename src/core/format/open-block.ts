// Shared by every read path (verifier, reader, decryptor): unwrap a session key and open a data box.
import type { KeyObject } from 'node:crypto'
import { MaifError, wrapError } from '../errors.js'
import { BOX_VERSION, DATA_PREFIX_LEN, decodeDataPrefix, ENC_AES_256_GCM, HEADER_LEN, parseJsonObject, type BoxHeader, type DataPrefix, type SessionInfo } from './format.js'
import { buildAad, checkCommitment, deriveSessionKeys, open as aeadOpen } from './crypto.js'
import type { KeyProvider } from './keyring.js'

export function sessionContext(containerId: Buffer, sessionId: Buffer): Record<string, string> {
  return { container: containerId.toString('hex'), session: sessionId.toString('hex'), purpose: 'maif-session' }
}

/** Unwraps a session's data key, derives the block key and checks the key commitment (fails closed). */
export async function unwrapSessionKey(provider: KeyProvider, containerId: Buffer, sessionId: Buffer, info: SessionInfo, offset?: number): Promise<KeyObject> {
  const where = offset === undefined ? {} : { offset }
  const expected = sessionContext(containerId, sessionId)
  const ctx = info.context ?? {}
  if (Object.keys(ctx).length !== 3 || ctx.container !== expected.container || ctx.session !== expected.session || ctx.purpose !== expected.purpose) {
    throw new MaifError('MAIF_ERR_PAYLOAD', `session ${expected.session} has an encryption context for another container or session`, where)
  }
  let dk: Buffer
  try {
    dk = await provider.decryptDataKey(Buffer.from(info.wrappedKey ?? '', 'base64'), expected, info.keyId ?? '')
  } catch (cause) {
    throw wrapError('MAIF_ERR_KEY_UNAVAILABLE', `cannot unwrap the key of session ${expected.session}`, cause, where)
  }
  const keys = deriveSessionKeys(dk, containerId, sessionId)
  dk.fill(0)
  try {
    checkCommitment(Buffer.from(info.commitment ?? '', 'base64'), keys.commitment)
  } catch (err) {
    throw new MaifError('MAIF_ERR_KEY_COMMITMENT', (err as Error).message, { ...where, cause: err })
  }
  return keys.encKey
}

export interface ParsedDataBox {
  prefix: DataPrefix
  pubBytes: Buffer
  pub: Record<string, unknown>
  /** The stored body: ciphertext ‖ tag, or the compressed plaintext. */
  body: Buffer
}

/** `boxSize` may exceed `bytes.length` when only the head of the box was read (key-less verification). */
export function parseDataBox(offset: number, bytes: Buffer, boxSize = bytes.length): ParsedDataBox {
  const payload = bytes.subarray(HEADER_LEN)
  const prefix = decodeDataPrefix(payload, boxSize - HEADER_LEN, offset)
  if (payload.length < DATA_PREFIX_LEN + prefix.pubLen) throw new MaifError('MAIF_ERR_PAYLOAD', `data box at offset ${offset} was not read far enough`, { offset })
  const pubBytes = payload.subarray(DATA_PREFIX_LEN, DATA_PREFIX_LEN + prefix.pubLen)
  return { prefix, pubBytes, pub: parseJsonObject(pubBytes, offset, 'public metadata'), body: payload.subarray(DATA_PREFIX_LEN + prefix.pubLen) }
}

/** Authenticates and decrypts a data box body; plaintext bodies are returned as they are. */
export function openBody(key: KeyObject | null, containerId: Buffer, sessionId: Buffer, h: BoxHeader, bytes: Buffer, d: ParsedDataBox, offset: number): Buffer {
  if (d.prefix.enc !== ENC_AES_256_GCM) return d.body
  const where = { offset, seq: h.seq }
  if (!key) throw new MaifError('MAIF_ERR_KEY_UNAVAILABLE', `block #${h.seq} is encrypted; a keyring is needed to read it`, where)
  const aad = buildAad({ containerId, sessionId, type: h.type, version: BOX_VERSION, flags: h.flags, prefix: bytes.subarray(HEADER_LEN, HEADER_LEN + DATA_PREFIX_LEN), pub: d.pubBytes })
  return aeadOpen(key, d.prefix.counter, aad, d.body, where)
}
