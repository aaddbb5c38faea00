// What maif's cryptography is, in FIPS 140-3 terms: each algorithm with its standard and whether it is an
// approved security function (NIST SP 800-140C), and the state of the crypto module Node runs (OpenSSL version,
// FIPS mode). Approval of an algorithm is not validation of a module: an algorithm counts as FIPS only when
// an OpenSSL FIPS provider holding a FIPS 140-3 certificate is active (getFips() === 1). FIPS 140-2
// certificates moved to the CMVP historical list on 2026-09-21 and are not cited here.
import { getFips } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'

export type Approval = 'approved' | 'not-approved' | 'conditional' | 'not-security'

export interface AlgorithmUse {
  /** What maif uses it for. */
  use: string
  algorithm: string
  status: Approval
  /** The standard that specifies (and approves) it. */
  reference: string
  note?: string
}

/** Every algorithm maif can use, by id. */
export const ALGORITHMS = {
  'aes-256-gcm': { use: 'block encryption (AEAD, 96-bit counter nonces, 128-bit tags)', algorithm: 'AES-256-GCM', status: 'approved', reference: 'FIPS 197; NIST SP 800-38D' },
  'aes-256-gcm-keywrap': { use: 'wrapping session keys with the local keyring\'s master key', algorithm: 'AES-256-GCM', status: 'approved', reference: 'NIST SP 800-38D', note: 'an approved AEAD; SP 800-38F (AES-KW/KWP) is the dedicated key-wrap mode' },
  'kms-wrap': { use: 'wrapping session keys with AWS KMS', algorithm: 'AWS KMS GenerateDataKey/Decrypt', status: 'conditional', reference: 'AWS KMS HSMs (FIPS 140-3 validated)', note: 'approved when the client uses a FIPS endpoint (useFipsEndpoint)' },
  'hkdf-sha512': { use: 'deriving the block key and the key commitment from a session key', algorithm: 'HKDF-SHA-512', status: 'approved', reference: 'NIST SP 800-56C Rev. 2 (two-step KDF); RFC 5869' },
  sha256: { use: 'hash chain, Merkle tree, key ids, audit event hashes', algorithm: 'SHA-256', status: 'approved', reference: 'FIPS 180-4' },
  'ecdsa-p256': { use: 'checkpoint signatures', algorithm: 'ECDSA P-256 with SHA-256', status: 'approved', reference: 'FIPS 186-5' },
  'rsa-pss-3072': { use: 'checkpoint signatures', algorithm: 'RSA-PSS 3072 with SHA-256', status: 'approved', reference: 'FIPS 186-5' },
  ed25519: { use: 'checkpoint signatures', algorithm: 'Ed25519', status: 'conditional', reference: 'FIPS 186-5', note: 'approved in FIPS 186-5, but only some OpenSSL FIPS providers list EdDSA as approved; maif refuses it in FIPS mode' },
  drbg: { use: 'nonces, salts, session keys (crypto.randomBytes)', algorithm: 'OpenSSL CTR/HASH DRBG', status: 'approved', reference: 'NIST SP 800-90A Rev. 1' },
  'pbkdf2-sha256': { use: 'deriving a key from a passphrase', algorithm: 'PBKDF2-HMAC-SHA-256', status: 'approved', reference: 'NIST SP 800-132' },
  crc32: { use: 'box header torn-write check (not an integrity protection)', algorithm: 'CRC-32', status: 'not-security', reference: 'ISO 3309' },
  zstd: { use: 'block compression', algorithm: 'Zstandard', status: 'not-security', reference: 'RFC 8878' },
  gzip: { use: 'block compression', algorithm: 'gzip/DEFLATE', status: 'not-security', reference: 'RFC 1952' },
  brotli: { use: 'block compression', algorithm: 'Brotli', status: 'not-security', reference: 'RFC 7932' },
} as const satisfies Record<string, AlgorithmUse>

export type AlgorithmId = keyof typeof ALGORITHMS

export function describeAlgorithms(ids: Iterable<AlgorithmId>): AlgorithmUse[] {
  return [...new Set(ids)].map((id) => ({ ...ALGORITHMS[id] }))
}

export interface CryptoModuleStatus {
  node: string
  openssl: string
  /** crypto.getFips(): 1 when an OpenSSL FIPS provider is active. */
  fips: boolean
  /** Node built against the system's OpenSSL rather than its bundled copy. */
  sharedOpenssl: boolean
  opensslConf: string | null
  opensslModules: string | null
  /** Whether a fips.so exists where OPENSSL_MODULES points. Node has no API that lists loaded providers. */
  fipsProviderFile: string | null
  statement: string
}

export function cryptoModuleStatus(env: NodeJS.ProcessEnv = process.env): CryptoModuleStatus {
  const fips = getFips() === 1
  const modules = env.OPENSSL_MODULES ?? null
  const fipsSo = modules && existsSync(join(modules, 'fips.so')) ? join(modules, 'fips.so') : null
  const vars = (process.config as { variables?: Record<string, unknown> }).variables ?? {}
  return {
    node: process.version,
    openssl: process.versions.openssl ?? 'unknown',
    fips,
    sharedOpenssl: vars.node_shared_openssl === true || vars.node_shared_openssl === 'true',
    opensslConf: env.OPENSSL_CONF ?? null,
    opensslModules: modules,
    fipsProviderFile: fipsSo,
    statement: fips
      ? 'An OpenSSL FIPS provider is active: approved algorithms run inside it. Whether it is a FIPS 140-3 validated module depends on its certificate (check the CMVP list for this provider version).'
      : 'No FIPS provider is active (crypto.getFips() is 0): the algorithms below may be approved ones, but they do not run in a validated module. maif cannot enable FIPS itself; run Node with a FIPS-enabled OpenSSL configuration (--enable-fips).',
  }
}
