// Sink `container`: a MAIF container file. It owns the container write path, built once from the pipeline's
// block stages as written (frame → compress → encrypt → chain → sign), adding frame, chain and sign where the
// pipeline leaves them out. Records are acknowledged when a signed checkpoint covering them is fsynced; the
// sources' write-ahead runs just before the checkpoint is written.
import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { z } from 'zod'
import { MaifError, wrapError } from '../../core/errors.js'
import { loadKeyring, resolveKeyringDir, type KeyProvider, type LocalKeyring } from '../../core/format/keyring.js'
import type { Signer } from '../../core/format/signing.js'
import type { AwsOptions } from '../../core/aws/config.js'
import { KmsKeyProvider } from '../../core/format/kms/key-provider.js'
import { KmsSigner } from '../../core/format/kms/signer.js'
import { WriterSession } from '../../core/container/session.js'
import { completeWritePath, type WriteStage } from '../../core/container/write-path.js'
import { defineSink } from '../../core/runtime/component.js'
import { assertWritable } from '../../core/runtime/fs-checks.js'
import type { Batch, SinkInstance } from '../../core/runtime/types.js'
import { openWriter, type ContainerWriter, type WriterHooks } from './writer.js'
import { routedSink, templateNames } from './routed.js'

export const containerSink = defineSink({
  type: 'container',
  acknowledgements: 'self',
  framesBlocks: true,
  description: 'append records to a MAIF container file (encrypted, hash-chained, signed)',
  options: {
    path: z.string().min(1).describe('the .maif container file to write'),
    fsync: z.enum(['commit', 'never']).describe('commit (default): fsync at every checkpoint; never: leave it to the OS').optional(),
    allowNewSigner: z.boolean().describe('append although the container was last signed by another key (every signer must then be pinned to verify)').optional(),
    allowPlaintextAppend: z.boolean().describe('append a plaintext session to a container that has encrypted sessions').optional(),
    lockWaitMs: z.int().min(0).describe('a path with {placeholders}: how long to wait for a container another worker still holds (default 30000)').optional(),
  },
  lint({ self, transforms, definition, report }) {
    const has = (t: string): boolean => transforms.some((x) => x.type === t)
    const name = ` '${String(self.options.path)}'`
    const requireEncryption = (definition.security as { requireEncryption?: unknown } | undefined)?.requireEncryption !== false
    if (!has('encrypt')) {
      if (requireEncryption) {
        report({ rule: 'security/container-requires-encrypt', message: `container sink${name} needs an 'encrypt' stage (security.requireEncryption defaults to true)`, hint: `add '- type: encrypt' after compress, or set 'security: { requireEncryption: false }' to write plaintext deliberately` })
      } else {
        report({ severity: 'warning', rule: 'security/plaintext-container', message: `container${name} will be recorded as plaintext: there is no 'encrypt' stage and security.requireEncryption is false`, hint: `add '- type: encrypt' to protect the data at rest` })
      }
    }
    const added = ['frame', 'chain', 'sign'].filter((t) => !has(t))
    if (added.length > 0) report({ severity: 'info', rule: 'sink/adds-stages', message: `container${name} adds ${added.map((t) => `'${t}'`).join(', ')} with default settings: the pipeline leaves ${added.length === 1 ? 'it' : 'them'} out, and a container does not verify without them` })
    if (!has('compress')) report({ severity: 'info', rule: 'sink/uncompressed', message: `container${name} stores blocks uncompressed: the pipeline has no 'compress' stage` })
  },
  key: (o, cwd) => resolve(cwd, o.path),
  paths: (o) => ({ writes: [o.path] }),
  async check(o, ctx) {
    // The keyring the sink would load (sign's, else encrypt's, else security.keyring, with --keyring and MAIF_KEYRING),
    // unless AWS KMS holds both its signing key and its data keys (sign.kms, and encrypt.kms or no encrypt).
    const stages = (Array.isArray(ctx.definition.transforms) ? ctx.definition.transforms : []) as Array<{ type?: unknown; keyring?: unknown; kms?: unknown }>
    const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
    const encStage = stages.find((t) => t.type === 'encrypt')
    const sigStage = stages.find((t) => t.type === 'sign')
    const enc = str(encStage?.keyring)
    const sig = str(sigStage?.keyring)
    const needsKeyring = !sigStage?.kms || (encStage !== undefined && !encStage.kms)
    const keys = resolveKeyringDir({ flag: ctx.keyringFlag, pipeline: sig ?? enc ?? ctx.defaultKeyring })
    if (needsKeyring && !keys) ctx.report('keyring', 'a container sink needs a keyring (encrypt.keyring, sign.keyring, security.keyring, --keyring or MAIF_KEYRING), or sign.kms and encrypt.kms')
    else if (needsKeyring && keys) await loadKeyring(resolve(ctx.cwd, keys)).catch((err: unknown) => ctx.report('keyring', err instanceof Error ? err.message : String(err)))
    await checkKms(encStage?.kms, sigStage?.kms, ctx.report)
    await assertWritable(o.path, ctx.cwd)
  },
  async build(o, ctx): Promise<SinkInstance> {
    const path = resolve(ctx.cwd, o.path)
    const stages = ctx.blockStages.map((e) => e.stage as WriteStage)
    completeWritePath(stages) // refuses an order the container cannot honour, before anything is opened
    const enc = stages.find((s): s is Extract<WriteStage, { type: 'encrypt' }> => s.type === 'encrypt')
    const sig = stages.find((s): s is Extract<WriteStage, { type: 'sign' }> => s.type === 'sign')
    if (!enc && ctx.security.requireEncryption) {
      throw new MaifError('MAIF_ERR_ENCRYPTION_REQUIRED', `container ${o.path} has no encrypt stage; add one, or set security.requireEncryption: false to write a plaintext container`)
    }
    const keyDir = resolveKeyringDir({ flag: ctx.keyringFlag, pipeline: enc?.keyring ?? ctx.defaultKeyring })
    const signDir = resolveKeyringDir({ flag: ctx.keyringFlag, pipeline: sig?.keyring ?? enc?.keyring ?? ctx.defaultKeyring })
    const keyrings = new Map<string, Promise<LocalKeyring>>()
    const keyring = (dir: string): Promise<LocalKeyring> => {
      const abs = resolve(ctx.cwd, dir)
      if (!keyrings.has(abs)) keyrings.set(abs, loadKeyring(abs))
      return keyrings.get(abs)!
    }
    // Keys come first, before the file is touched: a key that cannot be had (KMS unreachable, access denied)
    // fails the build with its typed error, and the session below writes nothing unless it has its data key.
    const kms = await openKmsKeys(enc?.kms, sig?.kms)
    let signer: Signer
    let keyProvider: KeyProvider | undefined
    try {
      if (kms.signer) signer = kms.signer
      else {
        if (!signDir) throw new MaifError('MAIF_ERR_KEY_UNAVAILABLE', 'a container sink needs a keyring for its signing key (and its data keys): set encrypt.keyring, sign.keyring, security.keyring, --keyring or MAIF_KEYRING, or sign.kms')
        signer = (await keyring(signDir)).signer
      }
      if (sig?.alg && sig.alg !== signer.alg) {
        throw new MaifError('MAIF_ERR_INVALID_OPTION', kms.signer
          ? `sign.alg is '${sig.alg}', but KMS key ${sig.kms!.keyId} signs as ${signer.alg}; change sign.alg or use another KMS key`
          : `sign.alg is '${sig.alg}', but the signing key in ${signDir} is ${signer.alg}; make a keyring with 'maif keygen --alg ${sig.alg}' or change sign.alg`)
      }
      if (kms.keys) keyProvider = kms.keys
      else if (enc) {
        const dir = keyDir ?? signDir
        if (!dir) throw new MaifError('MAIF_ERR_KEY_UNAVAILABLE', 'the encrypt stage needs a keyring for its data keys (encrypt.keyring, security.keyring, --keyring or MAIF_KEYRING), or encrypt.kms')
        keyProvider = await keyring(dir)
      }
    } catch (err) {
      kms.destroy()
      throw err
    }
    const open = async (file: string, hooks: WriterHooks): Promise<ContainerWriter> => {
      mkdirSync(dirname(file), { recursive: true })
      const session = await WriterSession.open(file, {
        ...(keyProvider ? { keyProvider } : {}), signer,
        encryption: enc ? 'required' : 'none', writer: `maif run ${ctx.pipeline}`.trim(),
        ...(o.allowNewSigner === undefined ? {} : { allowNewSigner: o.allowNewSigner }),
        ...(o.allowPlaintextAppend === undefined ? {} : { allowPlaintextAppend: o.allowPlaintextAppend }),
      })
      return openWriter(session, stages, file, o.fsync, ctx, hooks)
    }
    if (templateNames(o.path).length > 0) {
      // One container per route ({topic}/{partition}); the KMS clients serve them all and go with the sink.
      const routed = routedSink(o.path, ctx, open, { lockWaitMs: o.lockWaitMs ?? 30_000, log: ctx.logger })
      return {
        ...routed,
        async close() { try { await routed.close() } finally { kms.destroy() } },
        async destroy(err) { try { await routed.destroy?.(err) } finally { kms.destroy() } },
      }
    }
    const counter = ctx.metrics.stage('container', ctx.label)
    let w: ContainerWriter
    try {
      w = await open(path, {
        beforeCommit: (c) => ctx.acks.committing(c.records, { key: path, treeSize: c.treeSize }),
        onCommit: (c) => { counter.recordsOut = c.records; ctx.acks.committed(c.records) },
      })
    } catch (err) {
      kms.destroy()
      throw err
    }
    return {
      // A release (a route the source lost) means nothing to a single container: what came before is in it.
      write: async (batch: Batch) => { if (!batch.release) await w.write(batch) },
      async close() {
        try {
          await w.close()
        } catch (err) {
          throw wrapError('MAIF_ERR_IO', `writing the container ${o.path} failed`, err)
        } finally {
          kms.destroy()
        }
      },
      destroy: (err) => { w.destroy(err); kms.destroy() },
      describe: () => ({ path, commits: w.commits }),
    }
  },
})

/**
 * What `maif validate` checks of KMS keys: that a data key can be generated (it is discarded) and that the
 * signing key signs as the format needs (KmsSigner's probe). Each failure is reported with its MAIF_ERR_KMS_* code.
 */
async function checkKms(enc: unknown, sig: unknown, report: (what: string, message: string) => void): Promise<void> {
  const parsed = z.object({ keyId: z.union([z.string(), z.array(z.string())]), aws: z.record(z.string(), z.unknown()).optional() }).loose()
  const e = parsed.safeParse(enc)
  const s = parsed.safeParse(sig)
  const msg = (err: unknown): string => (err instanceof MaifError ? `${err.code}: ${err.message}` : String(err))
  if (e.success) {
    const keyIds = typeof e.data.keyId === 'string' ? [e.data.keyId] : e.data.keyId
    const p = new KmsKeyProvider({ keyIds, ...(e.data.aws ? { aws: e.data.aws as AwsOptions } : {}) })
    try {
      await p.generateDataKey({ purpose: 'maif-validate' })
    } catch (err) {
      report('encrypt.kms', msg(err))
    } finally {
      p.destroy()
    }
  }
  if (s.success && typeof s.data.keyId === 'string') {
    await KmsSigner.create({ keyId: s.data.keyId, ...(s.data.aws ? { aws: s.data.aws as AwsOptions } : {}) }).then((k) => k.destroy(), (err: unknown) => report('sign.kms', msg(err)))
  }
}

/** The KMS data-key provider and signer a sink's encrypt.kms / sign.kms name; `destroy` releases their clients. */
async function openKmsKeys(enc: { keyIds: string[]; aws?: AwsOptions } | undefined, sig: { keyId: string; aws?: AwsOptions } | undefined): Promise<{ keys?: KmsKeyProvider; signer?: KmsSigner; destroy(): void }> {
  const keys = enc ? new KmsKeyProvider({ keyIds: enc.keyIds, ...(enc.aws ? { aws: enc.aws } : {}) }) : undefined
  let signer: KmsSigner | undefined
  try {
    if (sig) signer = await KmsSigner.create({ keyId: sig.keyId, ...(sig.aws ? { aws: sig.aws } : {}) })
  } catch (err) {
    keys?.destroy()
    throw err
  }
  return {
    ...(keys ? { keys } : {}), ...(signer ? { signer } : {}),
    destroy() { keys?.destroy(); signer?.destroy() },
  }
}
