// Checkpoints signed by an asymmetric AWS KMS key: the private key never leaves KMS. GetPublicKey gives the
// SubjectPublicKeyInfo (so the key id, and `maif pubkey`, match a keyring's maif.pub), Sign with MessageType
// RAW signs the checkpoint note. Suites: ECC_NIST_P256 with ECDSA_SHA_256 (KMS answers DER; the format stores
// r ‖ s, IEEE P1363) and RSA_3072 with RSASSA_PSS_SHA_256 (salt = 32 bytes, as the format's rsa-pss-3072).
// Every signature is verified locally before it is used, so a KMS that signs differently fails closed.
import { createPublicKey, type KeyObject } from 'node:crypto'
import { GetPublicKeyCommand, KMSClient, SignCommand, type SigningAlgorithmSpec } from '@aws-sdk/client-kms'
import { MaifError } from '../../errors.js'
import { awsClientConfig, type AwsOptions } from '../../aws/config.js'
import { algOfKey, keyIdOf, verifySignature, type SignatureAlg, type Signer } from '../signing.js'
import { kmsError } from './errors.js'

export interface KmsSignerOptions {
  keyId: string
  aws?: AwsOptions
  /** A client to use instead of one built from `aws` (its owner destroys it). */
  client?: KMSClient
}

const KMS_ALG: Partial<Record<SignatureAlg, SigningAlgorithmSpec>> = { 'ecdsa-p256': 'ECDSA_SHA_256', 'rsa-pss-3072': 'RSASSA_PSS_SHA_256' }
/** KMS signs at most 4096 bytes of RAW message. */
const MAX_RAW = 4096

/** Reads one DER INTEGER at `o`; returns its unsigned big-endian value and the next offset. */
function derInt(b: Buffer, o: number): { v: Buffer; next: number } {
  if (b[o] !== 0x02) throw new Error('expected an INTEGER')
  const len = b[o + 1]!
  if (len > 0x7f) throw new Error('INTEGER too long')
  let v = b.subarray(o + 2, o + 2 + len)
  while (v.length > 1 && v[0] === 0) v = v.subarray(1)
  return { v, next: o + 2 + len }
}

/** An ECDSA signature from DER (SEQUENCE { r, s }) to IEEE P1363 (r ‖ s, each `n` bytes). */
export function derToP1363(der: Buffer, n = 32): Buffer {
  try {
    if (der[0] !== 0x30) throw new Error('expected a SEQUENCE')
    let o = 2
    if (der[1]! & 0x80) o = 2 + (der[1]! & 0x7f)
    const r = derInt(der, o)
    const s = derInt(der, r.next)
    if (r.v.length > n || s.v.length > n || s.next !== der.length) throw new Error('bad lengths')
    const out = Buffer.alloc(2 * n)
    r.v.copy(out, n - r.v.length)
    s.v.copy(out, 2 * n - s.v.length)
    return out
  } catch (cause) {
    throw new MaifError('MAIF_ERR_SIGNATURE', 'KMS returned an ECDSA signature that is not valid DER', { cause })
  }
}

export class KmsSigner implements Signer {
  readonly alg: SignatureAlg
  readonly keyId: Buffer
  readonly publicKey: KeyObject
  /** The KMS key this signer uses, as given (id, ARN or alias). */
  readonly kmsKeyId: string
  readonly #client: KMSClient
  readonly #ownsClient: boolean
  readonly #kmsAlg: SigningAlgorithmSpec

  private constructor(kmsKeyId: string, client: KMSClient, ownsClient: boolean, publicKey: KeyObject, alg: SignatureAlg) {
    this.kmsKeyId = kmsKeyId
    this.#client = client
    this.#ownsClient = ownsClient
    this.publicKey = publicKey
    this.alg = alg
    this.keyId = keyIdOf(publicKey)
    this.#kmsAlg = KMS_ALG[alg]!
  }

  /** Fetches the key's public half (GetPublicKey) and checks that its suite is one the format signs with. */
  static async create(opts: KmsSignerOptions): Promise<KmsSigner> {
    if (typeof opts.keyId !== 'string' || opts.keyId.length === 0) throw new MaifError('MAIF_ERR_INVALID_OPTION', 'a KMS signer needs a key id')
    const client = opts.client ?? new KMSClient(awsClientConfig('KMS', opts.aws))
    try {
      const publicKey = await kmsPublicKey(client, opts.keyId)
      let alg: SignatureAlg
      try {
        alg = algOfKey(publicKey)
      } catch (cause) {
        throw new MaifError('MAIF_ERR_KMS_KEY_USAGE', `KMS key ${opts.keyId} is not an ECC_NIST_P256 or RSA_3072 key`, { cause })
      }
      if (!KMS_ALG[alg] || (alg === 'rsa-pss-3072' && publicKey.asymmetricKeyDetails?.modulusLength !== 3072)) {
        throw new MaifError('MAIF_ERR_KMS_KEY_USAGE', `KMS key ${opts.keyId} cannot sign maif checkpoints: use key spec ECC_NIST_P256 or RSA_3072 with key usage SIGN_VERIFY`)
      }
      const signer = new KmsSigner(opts.keyId, client, opts.client === undefined, publicKey, alg)
      // One probe signature now, so that a key KMS cannot sign with as the format needs fails here, before a
      // writer has put any byte in a container, and not at its first checkpoint.
      await signer.sign(Buffer.from(`maif kms signer probe ${opts.keyId}`))
      return signer
    } catch (err) {
      if (opts.client === undefined) client.destroy()
      throw err
    }
  }

  async sign(data: Buffer): Promise<Buffer> {
    if (data.length > MAX_RAW) throw new MaifError('MAIF_ERR_SIGNATURE', `a checkpoint note of ${data.length} bytes exceeds the ${MAX_RAW} bytes KMS signs as a RAW message`)
    let out
    try {
      out = await this.#client.send(new SignCommand({ KeyId: this.kmsKeyId, Message: data, MessageType: 'RAW', SigningAlgorithm: this.#kmsAlg }))
    } catch (err) {
      throw kmsError(`KMS Sign with key ${this.kmsKeyId}`, err)
    }
    if (!out.Signature) throw new MaifError('MAIF_ERR_SIGNATURE', `KMS Sign with key ${this.kmsKeyId} returned no signature`)
    const raw = Buffer.from(out.Signature)
    const sig = this.alg === 'ecdsa-p256' ? derToP1363(raw) : raw
    if (!verifySignature(this.alg, this.publicKey, data, sig)) {
      throw new MaifError('MAIF_ERR_SIGNATURE', `KMS key ${this.kmsKeyId} returned a ${this.#kmsAlg} signature that does not verify under its public key as ${this.alg}; nothing was signed with it`)
    }
    return sig
  }

  destroy(): void {
    if (this.#ownsClient) this.#client.destroy()
  }
}

/** The public key of an asymmetric KMS key (GetPublicKey: DER SubjectPublicKeyInfo). */
export async function kmsPublicKey(client: KMSClient, keyId: string): Promise<KeyObject> {
  let out
  try {
    out = await client.send(new GetPublicKeyCommand({ KeyId: keyId }))
  } catch (err) {
    throw kmsError(`KMS GetPublicKey of key ${keyId}`, err)
  }
  // moto omits KeySpec (only the deprecated CustomerMasterKeySpec), so the key itself says what it is.
  if (out.KeyUsage !== undefined && out.KeyUsage !== 'SIGN_VERIFY') {
    throw new MaifError('MAIF_ERR_KMS_KEY_USAGE', `KMS key ${keyId} has key usage ${out.KeyUsage}; checkpoint signing needs SIGN_VERIFY`)
  }
  if (!out.PublicKey) throw new MaifError('MAIF_ERR_KMS_KEY_USAGE', `KMS key ${keyId} has no public key (is it a symmetric key?)`)
  try {
    return createPublicKey({ key: Buffer.from(out.PublicKey), format: 'der', type: 'spki' })
  } catch (cause) {
    throw new MaifError('MAIF_ERR_KMS_KEY_USAGE', `KMS returned a public key for ${keyId} that is not a valid SubjectPublicKeyInfo`, { cause })
  }
}
