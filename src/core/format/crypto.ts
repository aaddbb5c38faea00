// Block encryption (FORMAT.md §5.2–5.3): per-session keys derived with HKDF-SHA-512, a key commitment,
// deterministic counter nonces and AAD that binds a block to its container, session and position.
import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, timingSafeEqual, type KeyObject } from 'node:crypto'
import { DATA_PREFIX_LEN } from './format.js'
import { MaifError } from '../errors.js'

export const TAG_LEN = 16
export const MAX_COUNTER = 2 ** 32
const AAD_LABEL = Buffer.from('MAIF-v1-AAD', 'latin1')
const DERIVE_INFO = Buffer.from('MAIF-v1 AES-256-GCM DERIVEKEY', 'latin1')
const COMMIT_INFO = Buffer.from('MAIF-v1 COMMITKEY', 'latin1')

export interface SessionKeys {
  encKey: KeyObject
  commitment: Buffer
}

/** Derives the block key and its commitment from a session data key (a KeyObject: its bytes never leave it). */
export function deriveSessionKeys(dataKey: KeyObject, containerId: Buffer, sessionId: Buffer): SessionKeys {
  if (dataKey.type !== 'secret' || dataKey.symmetricKeySize !== 32) throw new MaifError('MAIF_ERR_KEY_UNAVAILABLE', `a session data key must be a 32-byte secret key, got ${dataKey.symmetricKeySize ?? dataKey.type}`)
  const salt = Buffer.concat([containerId, sessionId])
  const enc = Buffer.from(hkdfSync('sha512', dataKey, salt, DERIVE_INFO, 32))
  const commitment = Buffer.from(hkdfSync('sha512', dataKey, salt, COMMIT_INFO, 32))
  const encKey = createSecretKey(enc)
  enc.fill(0)
  return { encKey, commitment }
}

export function checkCommitment(expected: Buffer, actual: Buffer): void {
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
    throw new MaifError('MAIF_ERR_KEY_COMMITMENT', 'the session data key does not match the commitment stored in the container (wrong key or tampered session)')
  }
}

export function nonceFor(counter: number): Buffer {
  if (!Number.isInteger(counter) || counter < 0 || counter >= MAX_COUNTER) {
    throw new MaifError('MAIF_ERR_NONCE_EXHAUSTED', `block counter ${counter} is outside the nonce space of one session key; start a new session`)
  }
  const n = Buffer.alloc(12)
  n.writeBigUInt64BE(BigInt(counter), 4)
  return n
}

export interface AadParts {
  containerId: Buffer
  sessionId: Buffer
  type: string
  version: number
  flags: number
  prefix: Buffer // the 32-byte data prefix
  pub: Buffer
}

export function buildAad(a: AadParts): Buffer {
  const b = Buffer.allocUnsafe(AAD_LABEL.length + 16 + 16 + 4 + 4 + DATA_PREFIX_LEN + a.pub.length)
  let o = AAD_LABEL.copy(b, 0)
  o += a.containerId.copy(b, o, 0, 16)
  o += a.sessionId.copy(b, o, 0, 16)
  o += b.write(a.type, o, 4, 'latin1')
  o = b.writeUInt32BE(((a.version << 24) | a.flags) >>> 0, o)
  o += a.prefix.copy(b, o)
  a.pub.copy(b, o)
  return b
}

/**
 * The largest piece of ciphertext seal() returns. Node's cipher gives every update() fresh memory; pieces of one
 * size reuse the chunks the allocator got back from earlier ones, where one block-sized ciphertext, of another
 * size each time, left holes: a 1 GiB pack peaked about 3.5 MiB higher.
 */
export const SEAL_PIECE = 64 << 10

/**
 * Encrypts the compressed inner plaintext; returns ciphertext ‖ tag as a list (pieces of at most SEAL_PIECE bytes,
 * then the tag), written as it is (writev), never joined.
 */
export function seal(key: KeyObject, counter: number, aad: Buffer, plain: Buffer): Buffer[] {
  const c = createCipheriv('aes-256-gcm', key, nonceFor(counter))
  c.setAAD(aad)
  const out: Buffer[] = []
  for (let at = 0; at < plain.length; at += SEAL_PIECE) out.push(c.update(plain.subarray(at, Math.min(at + SEAL_PIECE, plain.length))))
  const fin = c.final()
  if (fin.length) out.push(fin)
  out.push(c.getAuthTag())
  return out
}

/** Decrypts and authenticates; the plaintext is returned only after the tag has been checked. */
export function open(key: KeyObject, counter: number, aad: Buffer, body: Buffer, where: { offset?: number; seq?: number } = {}): Buffer {
  if (body.length < TAG_LEN) throw new MaifError('MAIF_ERR_DECRYPT', 'ciphertext is shorter than its tag', where)
  const d = createDecipheriv('aes-256-gcm', key, nonceFor(counter))
  d.setAAD(aad)
  d.setAuthTag(body.subarray(body.length - TAG_LEN))
  const out = d.update(body.subarray(0, body.length - TAG_LEN))
  try {
    const fin = d.final()
    return fin.length ? Buffer.concat([out, fin]) : out
  } catch (cause) {
    out.fill(0)
    throw new MaifError('MAIF_ERR_DECRYPT', `block${where.seq === undefined ? '' : ' ' + where.seq} failed authentication: it was altered, moved, or belongs to another container or key`, { ...where, cause })
  }
}
