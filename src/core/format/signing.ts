// Checkpoint signatures. The Signer interface is what a KMS-backed signer implements later.
import { createHash, createPublicKey, getFips, generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto'
import { MaifError } from '../errors.js'

export const SIGNATURE_ALGS = { 'ecdsa-p256': 1, ed25519: 2, 'rsa-pss-3072': 3 } as const
export type SignatureAlg = keyof typeof SIGNATURE_ALGS
const BY_ID = new Map<number, SignatureAlg>(Object.entries(SIGNATURE_ALGS).map(([k, v]) => [v, k as SignatureAlg]))

export function algFromId(id: number): SignatureAlg | undefined {
  return BY_ID.get(id)
}

export interface Signer {
  readonly alg: SignatureAlg
  /** SHA-256 of the SubjectPublicKeyInfo DER. */
  readonly keyId: Buffer
  readonly publicKey: KeyObject
  sign(data: Buffer): Promise<Buffer>
}

// A KeyObject never changes, and every verify asks for the ids of its pinned keys: exporting and hashing a key
// costs about 0.3 ms, more than verifying a small container.
const keyIds = new WeakMap<KeyObject, Buffer>()

export function keyIdOf(publicKey: KeyObject): Buffer {
  let id = keyIds.get(publicKey)
  if (id === undefined) keyIds.set(publicKey, id = createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest())
  return Buffer.from(id) // a copy: callers may keep or change theirs
}

function signOptions(alg: SignatureAlg, key: KeyObject): { algorithm: string | null; key: KeyObject; dsaEncoding?: 'ieee-p1363'; padding?: number; saltLength?: number } {
  switch (alg) {
    case 'ecdsa-p256': return { algorithm: 'sha256', key, dsaEncoding: 'ieee-p1363' }
    case 'ed25519': return { algorithm: null, key }
    case 'rsa-pss-3072': return { algorithm: 'sha256', key, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: 32 }
  }
}

/** Infers the algorithm from a key, refusing keys outside the supported suites (e.g. small RSA). */
export function algOfKey(key: KeyObject): SignatureAlg {
  const t = key.asymmetricKeyType
  const d = key.asymmetricKeyDetails
  if (t === 'ec' && d?.namedCurve === 'prime256v1') return 'ecdsa-p256'
  if (t === 'ed25519') return 'ed25519'
  if ((t === 'rsa' || t === 'rsa-pss') && (d?.modulusLength ?? 0) >= 3072) return 'rsa-pss-3072'
  throw new MaifError('MAIF_ERR_KEYRING', `signing key type ${t ?? 'unknown'} is not supported (use ECDSA P-256, Ed25519 or RSA ≥ 3072)`)
}

export class LocalSigner implements Signer {
  readonly alg: SignatureAlg
  readonly keyId: Buffer
  readonly publicKey: KeyObject
  readonly #privateKey: KeyObject

  constructor(privateKey: KeyObject) {
    if (privateKey.type !== 'private') throw new MaifError('MAIF_ERR_KEYRING', 'a signer needs a private key')
    if (fipsRequired && privateKey.asymmetricKeyType === 'ed25519') throw new MaifError('MAIF_ERR_FIPS', 'FIPS mode: Ed25519 signing keys are refused; use ECDSA P-256 or RSA-PSS 3072')
    this.#privateKey = privateKey
    this.publicKey = createPublicKey(privateKey)
    this.alg = algOfKey(this.publicKey)
    this.keyId = keyIdOf(this.publicKey)
  }

  async sign(data: Buffer): Promise<Buffer> {
    return cryptoSign(signOptions(this.alg, this.#privateKey).algorithm, data, signOptions(this.alg, this.#privateKey))
  }
}

export function generateSigningKey(alg: SignatureAlg): KeyObject {
  switch (alg) {
    case 'ecdsa-p256': return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
    case 'ed25519': return generateKeyPairSync('ed25519').privateKey
    case 'rsa-pss-3072': return generateKeyPairSync('rsa', { modulusLength: 3072 }).privateKey
  }
}

export function verifySignature(alg: SignatureAlg, publicKey: KeyObject, data: Buffer, sig: Buffer): boolean {
  if (algOfKey(publicKey) !== alg) return false
  const o = signOptions(alg, publicKey)
  try {
    return cryptoVerify(o.algorithm, data, o, sig)
  } catch {
    return false
  }
}

/**
 * FIPS mode (MAIF_FIPS=1): refuse to run unless OpenSSL already runs a FIPS provider. maif cannot switch
 * FIPS on by itself (Node's official builds ship no FIPS module); it only refuses to run outside one, and
 * then refuses Ed25519 signing keys, whose approval depends on the provider's certificate.
 */
export function requireFips(): void {
  if (getFips() !== 1) {
    throw new MaifError('MAIF_ERR_FIPS', 'MAIF_FIPS=1 requires Node to run with an OpenSSL FIPS provider (node --enable-fips with a FIPS-enabled OpenSSL configuration); it is not active')
  }
  fipsRequired = true
}

let fipsRequired = false
export function fipsMode(): boolean {
  return fipsRequired
}
