// What every sink that writes containers needs from the pipeline before it opens one: the block stages in
// container order, and the keys they name (the data-key provider, the signer), resolved the same way for the
// container sink and the S3 sink (sign's keyring, else encrypt's, else security.keyring; --keyring wins).
import { resolve } from 'node:path'
import { MaifError } from '../errors.js'
import { loadKeyring, resolveKeyringDir, type LocalKeyring } from '../format/keyring.js'
import { completeWritePath, type WriteStage } from '../container/write-path.js'
import type { SinkBuildContext } from './types.js'

export interface ContainerKeys {
  stages: WriteStage[]
  /** The data-key provider, when the pipeline encrypts. */
  keyProvider: LocalKeyring | undefined
  signer: LocalKeyring['signer']
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
  if (!signDir) throw new MaifError('MAIF_ERR_KEY_UNAVAILABLE', `${what} needs a keyring for its signing key (and its data keys): set encrypt.keyring, sign.keyring, security.keyring, --keyring or MAIF_KEYRING`)
  const keyrings = new Map<string, Promise<LocalKeyring>>()
  const keyring = (dir: string): Promise<LocalKeyring> => {
    const abs = resolve(ctx.cwd, dir)
    if (!keyrings.has(abs)) keyrings.set(abs, loadKeyring(abs))
    return keyrings.get(abs)!
  }
  const signer = (await keyring(signDir)).signer
  if (sig?.alg && sig.alg !== signer.alg) {
    throw new MaifError('MAIF_ERR_INVALID_OPTION', `sign.alg is '${sig.alg}', but the signing key in ${signDir} is ${signer.alg}; make a keyring with 'maif keygen --alg ${sig.alg}' or change sign.alg`)
  }
  return { stages, keyProvider: enc ? await keyring(keyDir ?? signDir) : undefined, signer }
}
