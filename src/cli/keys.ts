// Keys for the reading commands: the keyring (flag, then MAIF_KEYRING) and the pinned public keys.
import type { KeyObject } from 'node:crypto'
import { loadKeyring, loadPublicKey, resolveKeyringDir, type LocalKeyring } from '../core/format/keyring.js'
import { strOpt } from './args.js'

export async function keyringFrom(flag: unknown): Promise<LocalKeyring | undefined> {
  const dir = resolveKeyringDir({ flag: strOpt(flag) })
  return dir ? loadKeyring(dir) : undefined
}

/** Every --pub key, plus the keyring's own signing key. */
export async function pinnedKeys(pubs: unknown, keyring: LocalKeyring | undefined): Promise<KeyObject[]> {
  const keys: KeyObject[] = []
  for (const p of (Array.isArray(pubs) ? pubs : []) as string[]) keys.push(await loadPublicKey(p))
  if (keyring) keys.push(keyring.signer.publicKey)
  return keys
}
