// The algorithms a container names, read from its session boxes and block prefixes (no key needed): what
// `maif compliance check FILE` and `maif compliance report` mark approved / not approved.
import type { InspectInfo } from '../container/inspect.js'
import type { AlgorithmId } from './fips.js'

const CODECS: Record<string, AlgorithmId | undefined> = { zstd: 'zstd', gzip: 'gzip', brotli: 'brotli' }
const SIGS: Record<string, AlgorithmId | undefined> = { 'ecdsa-p256': 'ecdsa-p256', ed25519: 'ed25519', 'rsa-pss-3072': 'rsa-pss-3072' }

export function codecAlgorithm(codec: string): AlgorithmId | undefined {
  return CODECS[codec]
}

export function signatureAlgorithm(alg: string | null | undefined): AlgorithmId | undefined {
  return alg ? SIGS[alg] : undefined
}

/** The algorithms a container's sessions and blocks name, and notes on what it does not protect. */
export function containerAlgorithms(info: Pick<InspectInfo, 'sessions' | 'blocks'>): { ids: AlgorithmId[]; notes: string[] } {
  const ids: AlgorithmId[] = ['sha256', 'crc32']
  const notes: string[] = []
  for (const s of info.sessions) {
    const sig = signatureAlgorithm(s.signerAlg)
    if (sig) ids.push(sig)
    else notes.push(`session ${s.sessionId}: unknown signature algorithm '${String(s.signerAlg)}'`)
    if (s.encryption !== 'none') {
      ids.push('aes-256-gcm', 'hkdf-sha512', 'drbg')
      ids.push(s.keyProvider?.startsWith('kms') || s.keyProvider?.startsWith('arn:') ? 'kms-wrap' : 'aes-256-gcm-keywrap')
    } else notes.push(`session ${s.sessionId} is plaintext: no encryption at rest (SC-28)`)
  }
  for (const b of info.blocks) {
    const c = codecAlgorithm(b.codec)
    if (c) ids.push(c)
  }
  return { ids, notes }
}
