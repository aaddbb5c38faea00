// Passphrase protection of a keyring file (maif.key version 2). The secret part (the master key and the
// signing key as PKCS#8 DER) is sealed with AES-256-GCM (SP 800-38D) under a key derived from the passphrase
// by PBKDF2-HMAC-SHA-256 (SP 800-132) with a random 16-byte salt and 600,000 iterations (OWASP's 2023 figure
// for PBKDF2-HMAC-SHA-256). The KDF parameters and the signer's algorithm are the AEAD's associated data, so
// none of them can be changed without the open failing.
// Why not Node's `KeyObject.export({ cipher, passphrase })`: OpenSSL 3 writes PBES2 with PBKDF2 at its default
// 2,048 iterations and Node offers no way to raise them, and it would protect only the signing key, not the
// master key. Both functions are approved (FIPS 140-3 module permitting), unlike scrypt.
import { createCipheriv, createDecipheriv, pbkdf2, randomBytes } from 'node:crypto'
import { promisify } from 'node:util'
import { MaifError } from '../errors.js'

const pbkdf2Async = promisify(pbkdf2)

export const KEYRING_KDF = 'pbkdf2-hmac-sha256'
export const KEYRING_KDF_ITERATIONS = 600_000
/** Fewer iterations than this are refused on read: a file cannot be downgraded to a cheap KDF. */
const MIN_ITERATIONS = 100_000

export interface SealedSecret {
  kdf: typeof KEYRING_KDF
  iterations: number
  salt: string
  cipher: 'aes-256-gcm'
  nonce: string
  /** Ciphertext followed by the 16-byte tag, base64. */
  sealed: string
}

function aad(alg: string, s: Pick<SealedSecret, 'kdf' | 'iterations' | 'salt' | 'cipher'>): Buffer {
  return Buffer.from(`maif-keyring/2\n${alg}\n${s.kdf}\n${s.iterations}\n${s.salt}\n${s.cipher}`)
}

async function deriveKey(passphrase: string, salt: Buffer, iterations: number): Promise<Buffer> {
  return pbkdf2Async(Buffer.from(passphrase.normalize('NFC'), 'utf8'), salt, iterations, 32, 'sha256')
}

/** Seals `secret` under the passphrase; the caller zeroes `secret`. */
export async function sealSecret(secret: Buffer, passphrase: string, alg: string, iterations = KEYRING_KDF_ITERATIONS): Promise<SealedSecret> {
  const salt = randomBytes(16)
  const nonce = randomBytes(12)
  const head = { kdf: KEYRING_KDF, iterations, salt: salt.toString('base64'), cipher: 'aes-256-gcm' } as const
  const key = await deriveKey(passphrase, salt, iterations)
  try {
    const c = createCipheriv('aes-256-gcm', key, nonce)
    c.setAAD(aad(alg, head))
    const out = Buffer.concat([c.update(secret), c.final(), c.getAuthTag()])
    return { ...head, nonce: nonce.toString('base64'), sealed: out.toString('base64') }
  } finally {
    key.fill(0)
  }
}

/** Opens a sealed secret; a wrong passphrase (or a changed file) fails with MAIF_ERR_KEYRING_PASSPHRASE. */
export async function openSecret(s: SealedSecret, passphrase: string, alg: string, keyFile: string): Promise<Buffer> {
  if (s.kdf !== KEYRING_KDF || s.cipher !== 'aes-256-gcm' || !Number.isSafeInteger(s.iterations) || s.iterations < MIN_ITERATIONS || typeof s.salt !== 'string' || typeof s.nonce !== 'string' || typeof s.sealed !== 'string') {
    throw new MaifError('MAIF_ERR_KEYRING', `${keyFile}: unsupported passphrase protection (expected ${KEYRING_KDF} with at least ${MIN_ITERATIONS} iterations and aes-256-gcm)`)
  }
  const salt = Buffer.from(s.salt, 'base64')
  const nonce = Buffer.from(s.nonce, 'base64')
  const body = Buffer.from(s.sealed, 'base64')
  if (salt.length < 16 || nonce.length !== 12 || body.length < 17) throw new MaifError('MAIF_ERR_KEYRING', `${keyFile}: malformed passphrase protection`)
  const key = await deriveKey(passphrase, salt, s.iterations)
  try {
    const d = createDecipheriv('aes-256-gcm', key, nonce)
    d.setAAD(aad(alg, s))
    d.setAuthTag(body.subarray(body.length - 16))
    return Buffer.concat([d.update(body.subarray(0, body.length - 16)), d.final()])
  } catch {
    throw new MaifError('MAIF_ERR_KEYRING_PASSPHRASE', `the passphrase does not open the keyring ${keyFile} (wrong passphrase, or the file was changed)`)
  } finally {
    key.fill(0)
  }
}
