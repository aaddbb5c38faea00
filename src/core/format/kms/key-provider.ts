// AWS KMS as a key provider (key-wrap kind 'aws-kms', FORMAT.md §5.2). GenerateDataKey (AES_256) with the
// session's encryption context once per writer session; the same plaintext data key is then wrapped under
// every further key with Encrypt, so any one of them can unwrap it. Reading calls Decrypt with the same
// context. Plaintext key bytes from KMS become a KeyObject at once and are zeroed.
import { createHash, createSecretKey, type KeyObject } from 'node:crypto'
import { DecryptCommand, EncryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms'
import { MaifError } from '../../errors.js'
import { awsClientConfig, type AwsOptions } from '../../aws/config.js'
import { canonicalJson } from '../format.js'
import type { DataKey, KeyProvider, KeyWrap } from '../keyring.js'
import { kmsError } from './errors.js'

export const KMS_KIND = 'aws-kms'

export interface KmsKeyProviderOptions {
  /** Keys that wrap new data keys: the first generates it, the others wrap a copy (Encrypt). Empty: read only. */
  keyIds?: readonly string[]
  /** Region / endpoint overrides; the SDK's own variables (AWS_REGION, AWS_ENDPOINT_URL_KMS) apply otherwise. */
  aws?: AwsOptions
  /**
   * A client to use instead of one built from `aws` (its owner destroys it). It is then used for every key,
   * whatever region a key ARN names.
   */
  client?: KMSClient
  /** Unwrapped data keys kept on the read path (default 64); one per session read. */
  cacheSize?: number
}

/** Zeroes a plaintext key returned by the SDK, whatever typed array it came in. */
function wipe(b: Uint8Array | undefined): void {
  b?.fill(0)
}

/** A 32-byte plaintext from KMS as a KeyObject; the bytes are zeroed either way. */
function secretKey(pt: Uint8Array | undefined, what: string): KeyObject {
  try {
    if (!pt || pt.length !== 32) throw new MaifError('MAIF_ERR_KMS_KEY_USAGE', `${what} returned ${pt?.length ?? 0} bytes of key, not 32`)
    return createSecretKey(Buffer.from(pt.buffer, pt.byteOffset, pt.byteLength))
  } finally {
    wipe(pt)
  }
}

export class KmsKeyProvider implements KeyProvider {
  readonly name = KMS_KIND
  readonly keyIds: readonly string[]
  readonly #client: KMSClient
  readonly #ownsClient: boolean
  readonly #aws: AwsOptions
  /** Clients for the regions that key ARNs name, beside the default one (KMS keys are regional). */
  readonly #regional = new Map<string, KMSClient>()
  readonly #cacheSize: number
  /** Unwrapped keys by hash of (context, first wrap); a Map in insertion order serves as an LRU. */
  readonly #cache = new Map<string, KeyObject>()

  constructor(opts: KmsKeyProviderOptions = {}) {
    this.keyIds = [...(opts.keyIds ?? [])]
    if (this.keyIds.some((k) => typeof k !== 'string' || k.length === 0)) throw new MaifError('MAIF_ERR_INVALID_OPTION', 'a KMS key id must be a non-empty string')
    this.#client = opts.client ?? new KMSClient(awsClientConfig('KMS', opts.aws))
    this.#ownsClient = opts.client === undefined
    this.#aws = { ...opts.aws }
    this.#cacheSize = Math.max(0, opts.cacheSize ?? 64)
  }

  /**
   * The client for a key: a key ARN (arn:aws:kms:REGION:…) goes to its own region, since a KMS key lives in
   * one region only; ids and aliases go to the default client. An injected client serves every key.
   */
  async #clientFor(keyId: string): Promise<KMSClient> {
    const region = /^arn:aws[\w-]*:kms:([a-z0-9-]+):/.exec(keyId)?.[1]
    if (!region || !this.#ownsClient) return this.#client
    const own = await this.#client.config.region().catch(() => undefined)
    if (region === own) return this.#client
    let c = this.#regional.get(region)
    if (!c) {
      c = new KMSClient(awsClientConfig('KMS', { ...this.#aws, region }))
      this.#regional.set(region, c)
    }
    return c
  }

  async generateDataKey(context: Readonly<Record<string, string>>): Promise<DataKey> {
    const [first, ...others] = this.keyIds
    if (first === undefined) throw new MaifError('MAIF_ERR_INVALID_OPTION', 'this KMS key provider has no key id to generate data keys with (--kms-key-id, or encrypt.kms.keyId)')
    const ctx = { ...context }
    let out
    try {
      out = await (await this.#clientFor(first)).send(new GenerateDataKeyCommand({ KeyId: first, KeySpec: 'AES_256', EncryptionContext: ctx }))
    } catch (err) {
      throw kmsError(`KMS GenerateDataKey with key ${first}`, err)
    }
    const pt = out.Plaintext
    try {
      if (!out.CiphertextBlob || !pt || pt.length !== 32) throw new MaifError('MAIF_ERR_KMS_KEY_USAGE', `KMS GenerateDataKey with key ${first} returned no 32-byte data key`)
      const wraps: [KeyWrap, ...KeyWrap[]] = [{ keyId: out.KeyId ?? first, wrapped: Buffer.from(out.CiphertextBlob) }]
      for (const keyId of others) {
        let enc
        try {
          enc = await (await this.#clientFor(keyId)).send(new EncryptCommand({ KeyId: keyId, Plaintext: pt, EncryptionContext: ctx }))
        } catch (err) {
          throw kmsError(`KMS Encrypt of the data key with key ${keyId}`, err)
        }
        if (!enc.CiphertextBlob) throw new MaifError('MAIF_ERR_KMS_KEY_USAGE', `KMS Encrypt with key ${keyId} returned no ciphertext`)
        wraps.push({ keyId: enc.KeyId ?? keyId, wrapped: Buffer.from(enc.CiphertextBlob) })
      }
      return { key: secretKey(pt, 'KMS GenerateDataKey'), wraps }
    } finally {
      wipe(pt)
    }
  }

  async decryptDataKey(kind: string, wraps: readonly KeyWrap[], context: Readonly<Record<string, string>>): Promise<KeyObject> {
    if (kind !== KMS_KIND) throw new MaifError('MAIF_ERR_KEY_UNAVAILABLE', `this session's key was wrapped by the '${kind}' key provider, not by AWS KMS`)
    if (wraps.length === 0) throw new MaifError('MAIF_ERR_PAYLOAD', 'the session names no wrapped key')
    const id = createHash('sha256').update(canonicalJson(context)).update('\0').update(wraps[0]!.wrapped).digest('hex')
    const hit = this.#cache.get(id)
    if (hit) {
      this.#cache.delete(id)
      this.#cache.set(id, hit)
      return hit
    }
    const failures: MaifError[] = []
    for (const w of wraps) {
      let out
      try {
        out = await (await this.#clientFor(w.keyId)).send(new DecryptCommand({ CiphertextBlob: w.wrapped, KeyId: w.keyId, EncryptionContext: { ...context } }))
      } catch (err) {
        failures.push(kmsError(`KMS Decrypt with key ${w.keyId}`, err))
        continue
      }
      const key = secretKey(out.Plaintext, `KMS Decrypt with key ${w.keyId}`)
      if (this.#cacheSize > 0) {
        this.#cache.set(id, key)
        while (this.#cache.size > this.#cacheSize) this.#cache.delete(this.#cache.keys().next().value!)
      }
      return key
    }
    // Every wrap failed: report the first failure's type, and every reason.
    const first = failures[0]!
    throw new MaifError(first.code, failures.map((f) => f.message).join('; '), { cause: first })
  }

  /** Unwrapped keys held in the read cache (for tests and metrics). */
  get cachedKeys(): number {
    return this.#cache.size
  }

  /** Releases the SDK client's sockets if this provider created it. */
  destroy(): void {
    this.#cache.clear()
    if (this.#ownsClient) this.#client.destroy()
    for (const c of this.#regional.values()) c.destroy()
    this.#regional.clear()
  }
}
