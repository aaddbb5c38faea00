// The key provider every reading command uses: the keyring (when given) for keyring sessions, and AWS KMS,
// built on first use from the SDK's own configuration, for sessions wrapped by KMS.
import { KeyRouter } from '../key-router.js'
import type { KeyProvider } from '../keyring.js'
import { KMS_KIND, KmsKeyProvider, type KmsKeyProviderOptions } from './key-provider.js'

export function readKeyProvider(keyring?: KeyProvider, kms: KmsKeyProviderOptions = {}): KeyRouter {
  return new KeyRouter(keyring ? [keyring] : [], { [KMS_KIND]: () => new KmsKeyProvider({ ...kms, keyIds: [] }) })
}
