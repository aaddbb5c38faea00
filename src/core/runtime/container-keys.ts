// What every sink that writes containers needs from the pipeline before it opens one: the block stages in
// container order, and the keys they name (the data-key provider, the signer), resolved the same way for the
// container sink and the S3 sink: encrypt.kms / sign.kms from AWS KMS, else sign's keyring, else encrypt's,
// else security.keyring (--keyring wins). Keys come first, before any file is touched: a key that cannot be
// had (KMS unreachable, access denied) fails the build with its typed error, and nothing is written.
import { resolve } from 'node:path'
import { MaifError } from '../errors.js'
import { loadKeyring, resolveKeyringDir, type KeyProvider, type LocalKeyring } from '../format/keyring.js'
import type { Signer } from '../format/signing.js'
import type { AwsOptions } from '../aws/config.js'
import type { KmsKeyProvider } from '../format/kms/key-provider.js'
import type { KmsSigner } from '../format/kms/signer.js'
import { completeWritePath, type WriteStage } from '../container/write-path.js'
import type { SinkBuildContext } from './types.js'

export interface ContainerKeys {
  stages: WriteStage[]
  /** The data-key provider, when the pipeline encrypts. */
  keyProvider: KeyProvider | undefined
  signer: Signer
  /** Releases the KMS clients (a no-op for keyrings); call it when the sink closes or fails. */
  destroy(): void
}

/** `what` names the sink in messages (e.g. "container out.maif"). */
export async function containerKeys(ctx: SinkBuildContext, what: string): Promise<ContainerKeys> {
  const stages = ctx.blockStages.map((e) => e.stage as WriteStage)
  completeWritePath(stages) // refuses an order the container cannot honour, before anything is opened
  const enc = stages.find((s): s is Extract<WriteStage, { type: 'encrypt' }> => s.type === 'encrypt')
  const sig = stages.find((s): s is Extract<WriteStage, { type: 'sign' }> => s.type === 'sign')
  if (!enc && ctx.security.requireEncryption) {
    throw new MaifError('MAIF_ERR_ENCRYPTION_REQUIRED', `${what} has no encrypt stage; add one, or set security.requireEncryption: false to write a plaintext container`)
  }
  const keyDir = resolveKeyringDir({ flag: ctx.keyringFlag, pipeline: enc?.keyring ?? ctx.defaultKeyring })
  const signDir = resolveKeyringDir({ flag: ctx.keyringFlag, pipeline: sig?.keyring ?? enc?.keyring ?? ctx.defaultKeyring })
  const keyrings = new Map<string, Promise<LocalKeyring>>()
  const keyring = (dir: string): Promise<LocalKeyring> => {
    const abs = resolve(ctx.cwd, dir)
    if (!keyrings.has(abs)) keyrings.set(abs, loadKeyring(abs))
    return keyrings.get(abs)!
  }
  const kms = await openKmsKeys(enc?.kms, sig?.kms)
  try {
    let signer: Signer
    if (kms.signer) signer = kms.signer
    else {
      if (!signDir) throw new MaifError('MAIF_ERR_KEY_UNAVAILABLE', `${what} needs a keyring for its signing key (and its data keys): set encrypt.keyring, sign.keyring, security.keyring, --keyring or MAIF_KEYRING, or sign.kms`)
      signer = (await keyring(signDir)).signer
    }
    if (sig?.alg && sig.alg !== signer.alg) {
      throw new MaifError('MAIF_ERR_INVALID_OPTION', kms.signer
        ? `sign.alg is '${sig.alg}', but KMS key ${sig.kms!.keyId} signs as ${signer.alg}; change sign.alg or use another KMS key`
        : `sign.alg is '${sig.alg}', but the signing key in ${signDir} is ${signer.alg}; make a keyring with 'maif keygen --alg ${sig.alg}' or change sign.alg`)
    }
    let keyProvider: KeyProvider | undefined
    if (kms.keys) keyProvider = kms.keys
    else if (enc) {
      const dir = keyDir ?? signDir
      if (!dir) throw new MaifError('MAIF_ERR_KEY_UNAVAILABLE', `the encrypt stage of ${what} needs a keyring for its data keys (encrypt.keyring, security.keyring, --keyring or MAIF_KEYRING), or encrypt.kms`)
      keyProvider = await keyring(dir)
    }
    return { stages, keyProvider, signer, destroy: kms.destroy }
  } catch (err) {
    kms.destroy()
    throw err
  }
}

/** The KMS data-key provider and signer that encrypt.kms / sign.kms name; `destroy` releases their clients. */
async function openKmsKeys(enc: { keyIds: string[]; aws?: AwsOptions } | undefined, sig: { keyId: string; aws?: AwsOptions } | undefined): Promise<{ keys?: KmsKeyProvider; signer?: KmsSigner; destroy(): void }> {
  // The KMS SDK is loaded only when a key is in KMS: every pipeline with a keyring would otherwise pay for it.
  const keys = enc ? new (await import('../format/kms/key-provider.js')).KmsKeyProvider({ keyIds: enc.keyIds, ...(enc.aws ? { aws: enc.aws } : {}) }) : undefined
  let signer: KmsSigner | undefined
  try {
    if (sig) signer = await (await import('../format/kms/signer.js')).KmsSigner.create({ keyId: sig.keyId, ...(sig.aws ? { aws: sig.aws } : {}) })
  } catch (err) {
    keys?.destroy()
    throw err
  }
  return {
    ...(keys ? { keys } : {}), ...(signer ? { signer } : {}),
    destroy() { keys?.destroy(); signer?.destroy() },
  }
}
