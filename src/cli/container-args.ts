// Argument handling shared by `maif audit` and `maif compliance`: whether FILE is a container or a text file
// (a JSONL audit log, a pipeline definition), and the keys a verifying read takes (--keyring, --pub, --max-box).
import type { KeyObject } from 'node:crypto'
import { open } from 'node:fs/promises'
import type { LocalKeyring } from '../core/format/keyring.js'
import { bytesOpt, type OptionSpec, type Values } from './args.js'
import { keyringFrom, pinnedKeys } from './keys.js'

/** True when the file starts with a container's file header box. */
export async function isContainer(path: string): Promise<boolean> {
  const fh = await open(path, 'r')
  try {
    const b = Buffer.alloc(8)
    const { bytesRead } = await fh.read(b, 0, 8, 0)
    return bytesRead === 8 && b.subarray(4, 8).toString('latin1') === 'fhdr'
  } finally {
    await fh.close()
  }
}

/** The flags of a verifying read. */
export const READ_KEY_OPTIONS: OptionSpec = {
  keyring: { type: 'string' }, pub: { type: 'string', multiple: true }, 'max-box': { type: 'string' },
}

export interface ReadKeys { keyring: LocalKeyring | undefined; pinned: KeyObject[]; maxBoxBytes: number | undefined }

/** The keyring (flag, else MAIF_KEYRING), the pinned public keys (every --pub plus the keyring's) and --max-box. */
export async function readKeys(values: Values): Promise<ReadKeys> {
  const keyring = await keyringFrom(values.keyring)
  return { keyring, pinned: await pinnedKeys(values.pub, keyring), maxBoxBytes: bytesOpt(values['max-box'], 'max-box') }
}
