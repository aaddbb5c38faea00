// Key providers: where session data keys come from. The local keyring is the default; AWS KMS plugs in
// through the same interface (GenerateDataKey / Decrypt with an encryption context).
import { chmod, mkdir, open as fsOpen, readFile, rename, stat, unlink } from 'node:fs/promises'
import { createCipheriv, createDecipheriv, createHash, createPrivateKey, createPublicKey, createSecretKey, randomBytes, type KeyObject } from 'node:crypto'
import { join } from 'node:path'
import { MaifError, wrapError } from '../errors.js'
import { canonicalJson } from './format.js'
import { generateSigningKey, LocalSigner, type SignatureAlg, type Signer } from './signing.js'
import { openSecret, sealSecret, type SealedSecret } from './keyring-seal.js'

/** One wrapping of a session data key: the key that wrapped it and the wrapped bytes. */
export interface KeyWrap {
  keyId: string
  wrapped: Buffer
}

/**
 * A fresh session data key. `key` is a KeyObject from the start: the plaintext bytes exist only inside the
 * provider, which zeroes them. `wraps` holds at least one wrapping; several keys may wrap the same data key
 * (e.g. one KMS key per region), and any one of them unwraps it.
 */
export interface DataKey {
  key: KeyObject
  wraps: [KeyWrap, ...KeyWrap[]]
}

/**
 * Where session data keys come from. `name` is the key-wrap kind recorded in the session box
 * (`keyProvider`, FORMAT.md §5.2): 'local' for the keyring, 'aws-kms' for AWS KMS.
 */
export interface KeyProvider {
  readonly name: string
  generateDataKey(context: Readonly<Record<string, string>>): Promise<DataKey>
  /** Unwraps a data key a provider of kind `kind` wrapped; tries the wraps it can use, in order. */
  decryptDataKey(kind: string, wraps: readonly KeyWrap[], context: Readonly<Record<string, string>>): Promise<KeyObject>
}

export const KEY_FILE = 'maif.key'
export const PUB_FILE = 'maif.pub'

/** Master key wraps session keys with AES-256-GCM; the context is the AAD, as KMS binds its encryption context. */
export class LocalKeyring implements KeyProvider {
  readonly name = 'local'
  readonly keyId: string
  readonly signer: Signer
  readonly #master: KeyObject
  /** True when the key file is sealed under a passphrase (maif.key version 2). */
  readonly passphraseProtected: boolean

  constructor(master: KeyObject, signingKey: KeyObject, passphraseProtected = false) {
    this.passphraseProtected = passphraseProtected
    if (master.symmetricKeySize !== 32) throw new MaifError('MAIF_ERR_KEYRING', 'the keyring master key must be 32 bytes')
    this.#master = master
    this.signer = new LocalSigner(signingKey)
    this.keyId = 'local:' + createHash('sha256').update(master.export()).digest('hex').slice(0, 16)
  }

  async generateDataKey(context: Readonly<Record<string, string>>): Promise<DataKey> {
    const plaintext = randomBytes(32)
    try {
      const nonce = randomBytes(12)
      const c = createCipheriv('aes-256-gcm', this.#master, nonce)
      c.setAAD(Buffer.from(canonicalJson(context)))
      const wrapped = Buffer.concat([nonce, c.update(plaintext), c.final(), c.getAuthTag()])
      return { key: createSecretKey(plaintext), wraps: [{ keyId: this.keyId, wrapped }] }
    } finally {
      plaintext.fill(0)
    }
  }

  async decryptDataKey(kind: string, wraps: readonly KeyWrap[], context: Readonly<Record<string, string>>): Promise<KeyObject> {
    const mine = kind === this.name ? wraps.find((w) => w.keyId === this.keyId) : undefined
    if (!mine) {
      const by = kind === this.name ? wraps.map((w) => w.keyId).join(', ') : `the '${kind}' key provider`
      throw new MaifError('MAIF_ERR_KEY_UNAVAILABLE', `this session's key was wrapped by ${by}, but the keyring is ${this.keyId}`)
    }
    const wrapped = mine.wrapped
    if (wrapped.length !== 12 + 32 + 16) throw new MaifError('MAIF_ERR_KEY_UNAVAILABLE', 'the wrapped session key has the wrong length')
    const d = createDecipheriv('aes-256-gcm', this.#master, wrapped.subarray(0, 12))
    d.setAAD(Buffer.from(canonicalJson(context)))
    d.setAuthTag(wrapped.subarray(44))
    const out = d.update(wrapped.subarray(12, 44))
    try {
      d.final()
      return createSecretKey(out)
    } catch (cause) {
      throw new MaifError('MAIF_ERR_KEY_UNAVAILABLE', 'the session key could not be unwrapped: wrong keyring or tampered session box', { cause })
    } finally {
      out.fill(0)
    }
  }
}

/** Version 1: the keys in the clear (the file's mode protects them). */
interface KeyFileV1 {
  'maif-keyring': 1
  masterKey: string
  signing: { alg: SignatureAlg; privateKey: string }
}

/** Version 2: passphrase-protected; the master key and the PKCS#8 signing key sealed together (keyring-seal.ts). */
interface KeyFileV2 {
  'maif-keyring': 2
  signing: { alg: SignatureAlg; publicKey: string }
  protection: SealedSecret
}

type KeyFile = KeyFileV1 | KeyFileV2

export interface GenerateKeyringOptions {
  alg?: SignatureAlg
  force?: boolean
  /** Seal the keys under this passphrase (check it first with assertPassphrase for the STIG profile). */
  passphrase?: string
  /** PBKDF2 iterations (default 600,000). */
  iterations?: number
}

/** Creates DIR/maif.key (0600) and DIR/maif.pub; refuses to overwrite unless force is set. */
export async function generateKeyring(dir: string, opts: GenerateKeyringOptions = {}): Promise<{ keyFile: string; pubFile: string; keyId: string }> {
  const alg = opts.alg ?? 'ecdsa-p256'
  const signing = generateSigningKey(alg)
  const master = randomBytes(32)
  let body: KeyFile
  if (opts.passphrase !== undefined) {
    const der = signing.export({ type: 'pkcs8', format: 'der' })
    const secret = Buffer.concat([master, der])
    der.fill(0)
    try {
      body = { 'maif-keyring': 2, signing: { alg, publicKey: createPublicKey(signing).export({ type: 'spki', format: 'pem' }).toString() }, protection: await sealSecret(secret, opts.passphrase, alg, opts.iterations) }
    } finally {
      secret.fill(0)
    }
  } else {
    body = { 'maif-keyring': 1, masterKey: master.toString('base64'), signing: { alg, privateKey: signing.export({ type: 'pkcs8', format: 'pem' }).toString() } }
  }
  master.fill(0)
  const keyFile = join(dir, KEY_FILE)
  const pubFile = join(dir, PUB_FILE)
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const fh = await fsOpen(keyFile, opts.force ? 'w' : 'wx', 0o600)
    try {
      await fh.writeFile(JSON.stringify(body, null, 2) + '\n')
      await fh.sync()
    } finally {
      await fh.close()
    }
    await chmod(keyFile, 0o600)
    const pub = createPublicKey(signing)
    const fp = await fsOpen(pubFile, opts.force ? 'w' : 'wx', 0o644)
    try {
      await fp.writeFile(pub.export({ type: 'spki', format: 'pem' }).toString())
    } finally {
      await fp.close()
    }
    return { keyFile, pubFile, keyId: new LocalSigner(signing).keyId.toString('hex') }
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new MaifError('MAIF_ERR_IO', `${keyFile} already exists; pass --force to replace it (the old key can no longer decrypt new data)`, { cause })
    }
    throw wrapError('MAIF_ERR_IO', `cannot write the keyring in ${dir}`, cause)
  }
}

/**
 * The passphrase of a protected keyring from the environment: the file MAIF_KEYRING_PASSPHRASE_FILE names (one
 * trailing newline dropped), else MAIF_KEYRING_PASSPHRASE. Never a command-line value, which `ps` shows.
 */
export async function keyringPassphraseFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const file = env.MAIF_KEYRING_PASSPHRASE_FILE
  if (file) return readPassphraseFile(file)
  return env.MAIF_KEYRING_PASSPHRASE || undefined
}

/** Reads a passphrase file, dropping one trailing newline. */
export async function readPassphraseFile(file: string): Promise<string> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (cause) {
    throw wrapError('MAIF_ERR_KEYRING_PASSPHRASE', `cannot read the passphrase file ${file}`, cause)
  }
  return text.replace(/\r?\n$/, '')
}

/**
 * Loads DIR/maif.key; refuses a key file that other users can read, as ssh does. A passphrase-protected
 * keyring needs `passphrase` (default: keyringPassphraseFromEnv()); without it, or with a wrong one, the load
 * fails with MAIF_ERR_KEYRING_PASSPHRASE before anything is read or written with it.
 */
export async function loadKeyring(dir: string, opts: { passphrase?: string } = {}): Promise<LocalKeyring> {
  const keyFile = join(dir, KEY_FILE)
  let text: string
  try {
    const st = await stat(keyFile)
    if ((st.mode & 0o077) !== 0) {
      throw new MaifError('MAIF_ERR_KEYRING', `${keyFile} is readable by other users (mode ${(st.mode & 0o777).toString(8)}); run chmod 600 on it`)
    }
    text = await readFile(keyFile, 'utf8')
  } catch (cause) {
    throw wrapError('MAIF_ERR_KEYRING', `cannot read the keyring ${keyFile} (create one with 'maif keygen --out ${dir}')`, cause)
  }
  let body: KeyFile
  try {
    body = JSON.parse(text) as KeyFile
  } catch (cause) {
    throw wrapError('MAIF_ERR_KEYRING', `${keyFile} is not a valid maif keyring`, cause)
  }
  if (body?.['maif-keyring'] === 2) return openProtected(body, keyFile, opts.passphrase ?? await keyringPassphraseFromEnv())
  try {
    if (body['maif-keyring'] !== 1 || typeof body.masterKey !== 'string' || typeof body.signing?.privateKey !== 'string') throw new Error('missing fields')
    const master = Buffer.from(body.masterKey, 'base64')
    const key = createSecretKey(master)
    master.fill(0)
    return new LocalKeyring(key, createPrivateKey(body.signing.privateKey))
  } catch (cause) {
    throw wrapError('MAIF_ERR_KEYRING', `${keyFile} is not a valid maif keyring`, cause)
  }
}

async function openProtected(body: KeyFileV2, keyFile: string, passphrase: string | undefined): Promise<LocalKeyring> {
  if (passphrase === undefined) {
    throw new MaifError('MAIF_ERR_KEYRING_PASSPHRASE', `the keyring ${keyFile} is passphrase-protected: give its passphrase in a file named by MAIF_KEYRING_PASSPHRASE_FILE (or in MAIF_KEYRING_PASSPHRASE)`)
  }
  if (typeof body.signing?.alg !== 'string' || typeof body.protection !== 'object' || body.protection === null) throw new MaifError('MAIF_ERR_KEYRING', `${keyFile} is not a valid maif keyring`)
  const secret = await openSecret(body.protection, passphrase, body.signing.alg, keyFile)
  try {
    if (secret.length <= 32) throw new MaifError('MAIF_ERR_KEYRING', `${keyFile}: the sealed keys are malformed`)
    const master = createSecretKey(secret.subarray(0, 32))
    const signing = createPrivateKey({ key: secret.subarray(32), format: 'der', type: 'pkcs8' })
    return new LocalKeyring(master, signing, true)
  } catch (cause) {
    throw wrapError('MAIF_ERR_KEYRING', `${keyFile}: the sealed keys are malformed`, cause)
  } finally {
    secret.fill(0)
  }
}

/**
 * Seals an existing keyring under a new passphrase, keeping its keys (so its key ids, and every container it
 * wrote, stay as they are): a version-2 file is opened with `previous`, a version-1 file (keys in the clear) is
 * protected for the first time. The new file replaces the old one atomically (written beside it, fsynced,
 * renamed), so a failure leaves the old one in place.
 */
export async function resealKeyring(dir: string, passphrase: string, opts: { previous?: string; iterations?: number } = {}): Promise<{ keyFile: string }> {
  const keyFile = join(dir, KEY_FILE)
  let body: KeyFile
  try {
    body = JSON.parse(await readFile(keyFile, 'utf8')) as KeyFile
  } catch (cause) {
    throw wrapError('MAIF_ERR_KEYRING', `cannot read the keyring ${keyFile}`, cause)
  }
  let secret: Buffer
  let alg: SignatureAlg
  let publicKey: string
  if (body?.['maif-keyring'] === 2) {
    if (opts.previous === undefined) throw new MaifError('MAIF_ERR_KEYRING_PASSPHRASE', `the keyring ${keyFile} is passphrase-protected: give its current passphrase to reseal it`)
    secret = await openSecret(body.protection, opts.previous, body.signing.alg, keyFile)
    alg = body.signing.alg
    publicKey = body.signing.publicKey
  } else if (body?.['maif-keyring'] === 1 && typeof body.masterKey === 'string' && typeof body.signing?.privateKey === 'string') {
    const master = Buffer.from(body.masterKey, 'base64')
    const priv = createPrivateKey(body.signing.privateKey)
    const der = priv.export({ type: 'pkcs8', format: 'der' })
    secret = Buffer.concat([master, der])
    master.fill(0)
    der.fill(0)
    alg = body.signing.alg
    publicKey = createPublicKey(priv).export({ type: 'spki', format: 'pem' }).toString()
  } else {
    throw new MaifError('MAIF_ERR_KEYRING', `${keyFile} is not a valid maif keyring`)
  }
  let next: KeyFileV2
  try {
    next = { 'maif-keyring': 2, signing: { alg, publicKey }, protection: await sealSecret(secret, passphrase, alg, opts.iterations) }
  } finally {
    secret.fill(0)
  }
  const tmp = `${keyFile}.reseal-${process.pid}`
  try {
    const fh = await fsOpen(tmp, 'wx', 0o600)
    try {
      await fh.writeFile(JSON.stringify(next, null, 2) + '\n')
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, keyFile)
  } catch (cause) {
    await unlink(tmp).catch(() => undefined)
    throw wrapError('MAIF_ERR_IO', `cannot write the resealed keyring ${keyFile}`, cause)
  }
  return { keyFile }
}

/** Reads a PEM public key (a maif.pub file) to pin checkpoint signatures to. */
export async function loadPublicKey(file: string): Promise<KeyObject> {
  try {
    return createPublicKey(await readFile(file, 'utf8'))
  } catch (cause) {
    throw wrapError('MAIF_ERR_KEYRING', `cannot read a public key from ${file}`, cause)
  }
}

/** Where a keyring comes from, in order of precedence; every command and the engine resolve it here. */
export interface KeyringSources {
  /** A command-line flag (--keyring). */
  flag?: string | undefined
  /** The pipeline definition (sign.keyring, encrypt.keyring, security.keyring), already resolved by the caller. */
  pipeline?: string | undefined
  /** The environment; MAIF_KEYRING is read from it. */
  env?: NodeJS.ProcessEnv
}

/** The keyring directory: the flag, else the pipeline's, else MAIF_KEYRING, else undefined. */
export function resolveKeyringDir(s: KeyringSources = {}): string | undefined {
  const env = s.env ?? process.env
  return s.flag || s.pipeline || env.MAIF_KEYRING || undefined
}
