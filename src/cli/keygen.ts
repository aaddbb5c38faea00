// `maif keygen`: a new keyring. With a passphrase (a file named by --passphrase-file or
// MAIF_KEYRING_PASSPHRASE_FILE, or MAIF_KEYRING_PASSPHRASE; never a flag value, which `ps` would show) the key
// file is sealed under it (PBKDF2-HMAC-SHA-256, AES-256-GCM: core/format/keyring-seal.ts), after the passphrase
// passed the STIG policy, including the change from --previous-passphrase-file when rotating.
import { generateKeyring, keyringPassphraseFromEnv, readPassphraseFile, resealKeyring } from '../core/format/keyring.js'
import { SIGNATURE_ALGS, type SignatureAlg } from '../core/format/signing.js'
import { assertPassphrase } from '../core/compliance/passphrase.js'
import { parse, strOpt, usage } from './args.js'

export default async function keygen(args: string[]): Promise<number> {
  const { values } = parse(args, { out: { type: 'string' }, alg: { type: 'string' }, force: { type: 'boolean' }, 'passphrase-file': { type: 'string' }, 'previous-passphrase-file': { type: 'string' }, reseal: { type: 'boolean' } })
  if (!values.out) usage('keygen needs --out DIR')
  const alg = (values.alg ?? 'ecdsa-p256') as SignatureAlg
  if (!(alg in SIGNATURE_ALGS)) usage(`--alg must be one of ${Object.keys(SIGNATURE_ALGS).join(', ')}`)
  const file = strOpt(values['passphrase-file'])
  const passphrase = file !== undefined ? await readPassphraseFile(file) : await keyringPassphraseFromEnv()
  const prevFile = strOpt(values['previous-passphrase-file'])
  if (prevFile !== undefined && passphrase === undefined) usage('--previous-passphrase-file needs a new passphrase (--passphrase-file or MAIF_KEYRING_PASSPHRASE_FILE)')
  const previous = prevFile !== undefined ? await readPassphraseFile(prevFile) : undefined
  if (passphrase !== undefined) assertPassphrase(passphrase, previous !== undefined ? { previous } : {})
  if (values.reseal) {
    // Rotation: the same keys under a new passphrase (or a clear keyring protected for the first time).
    if (passphrase === undefined) usage('--reseal needs the new passphrase (--passphrase-file or MAIF_KEYRING_PASSPHRASE_FILE)')
    if (values.alg !== undefined || values.force) usage('--reseal keeps the keys: --alg and --force do not apply')
    const r = await resealKeyring(values.out as string, passphrase, previous !== undefined ? { previous } : {})
    process.stdout.write(`resealed ${r.keyFile} under the new passphrase (same keys, same key ids)\n`)
    return 0
  }
  const r = await generateKeyring(values.out as string, { alg, force: values.force === true, ...(passphrase !== undefined ? { passphrase } : {}) })
  process.stdout.write(`wrote ${r.keyFile} (secret, mode 0600${passphrase !== undefined ? ', sealed under the passphrase: PBKDF2-HMAC-SHA-256, AES-256-GCM' : ''}) and ${r.pubFile}\nsigner key id ${r.keyId}\n`)
  return 0
}
