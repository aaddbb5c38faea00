// One key provider in front of several, for readers: each session is unwrapped by the provider of the kind
// that wrapped it (its `keyProvider` field), so a container that mixes keyring sessions and KMS sessions reads
// with the keyring alone; KMS is reached through the SDK's own configuration, with no extra flag.
import type { KeyObject } from 'node:crypto'
import { MaifError } from '../errors.js'
import type { DataKey, KeyProvider, KeyWrap } from './keyring.js'

export class KeyRouter implements KeyProvider {
  readonly name: string
  readonly #providers: KeyProvider[]
  readonly #factories: Record<string, () => KeyProvider>
  readonly #made = new Map<string, KeyProvider>()

  /**
   * `providers` are used for the kinds they name (the first also generates keys); `factories` build a provider
   * for another kind the first time a session of that kind is read.
   */
  constructor(providers: readonly KeyProvider[], factories: Record<string, () => KeyProvider> = {}) {
    this.#providers = [...providers]
    this.#factories = { ...factories }
    this.name = this.#providers[0]?.name ?? 'none'
  }

  generateDataKey(context: Readonly<Record<string, string>>): Promise<DataKey> {
    const p = this.#providers[0]
    if (!p) return Promise.reject(new MaifError('MAIF_ERR_KEY_UNAVAILABLE', 'no key provider was given to generate session keys'))
    return p.generateDataKey(context)
  }

  decryptDataKey(kind: string, wraps: readonly KeyWrap[], context: Readonly<Record<string, string>>): Promise<KeyObject> {
    return this.providerFor(kind).decryptDataKey(kind, wraps, context)
  }

  /** The provider that unwraps sessions of `kind`, or a MAIF_ERR_KEY_UNAVAILABLE saying what to pass. */
  providerFor(kind: string): KeyProvider {
    const given = this.#providers.find((p) => p.name === kind) ?? this.#made.get(kind)
    if (given) return given
    const make = Object.hasOwn(this.#factories, kind) ? this.#factories[kind] : undefined
    if (!make) {
      const hint = kind === 'local' ? 'pass the keyring that wrote it (--keyring DIR or MAIF_KEYRING)' : `no provider for '${kind}' is configured`
      throw new MaifError('MAIF_ERR_KEY_UNAVAILABLE', `a session's key was wrapped by the '${kind}' key provider: ${hint}`)
    }
    const p = make()
    this.#made.set(kind, p)
    return p
  }

  /** Destroys the providers this router built (their SDK clients); the given ones belong to the caller. */
  destroy(): void {
    for (const p of this.#made.values()) (p as { destroy?: () => void }).destroy?.()
    this.#made.clear()
  }
}
