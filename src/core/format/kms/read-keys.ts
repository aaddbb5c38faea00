// The key provider every reading command uses: the keyring (when given) for keyring sessions, and AWS KMS,
// built on first use from the SDK's own configuration, for sessions wrapped by KMS. The KMS SDK is loaded only
// when a KMS session is read: loading it costs a quarter of a second, which `verify --pub` and `cat` of
// keyring containers should not pay.
import type { KeyObject } from 'node:crypto'
import { KeyRouter } from '../key-router.js'
import type { DataKey, KeyProvider, KeyWrap } from '../keyring.js'
import type { KmsKeyProvider, KmsKeyProviderOptions } from './key-provider.js'

/** The key-wrap kind of KMS sessions (key-provider.ts's KMS_KIND, repeated here so that it loads nothing). */
const KMS_KIND = 'aws-kms'

class LazyKmsProvider implements KeyProvider {
  readonly name = KMS_KIND
  readonly #opts: KmsKeyProviderOptions
  #provider: Promise<KmsKeyProvider> | undefined

  constructor(opts: KmsKeyProviderOptions) {
    this.#opts = opts
  }

  #load(): Promise<KmsKeyProvider> {
    this.#provider ??= import('./key-provider.js').then(({ KmsKeyProvider }) => new KmsKeyProvider({ ...this.#opts, keyIds: [] }))
    return this.#provider
  }

  async generateDataKey(context: Readonly<Record<string, string>>): Promise<DataKey> {
    return (await this.#load()).generateDataKey(context)
  }

  async decryptDataKey(kind: string, wraps: readonly KeyWrap[], context: Readonly<Record<string, string>>): Promise<KeyObject> {
    return (await this.#load()).decryptDataKey(kind, wraps, context)
  }

  destroy(): void {
    void this.#provider?.then((p) => p.destroy(), () => undefined)
  }
}

export function readKeyProvider(keyring?: KeyProvider, kms: KmsKeyProviderOptions = {}): KeyRouter {
  return new KeyRouter(keyring ? [keyring] : [], { [KMS_KIND]: () => new LazyKmsProvider(kms) })
}
