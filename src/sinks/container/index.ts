// Sink `container`: a MAIF container file. It owns the container write path, built once from the pipeline's
// block stages as written (frame → compress → encrypt → chain → sign), adding frame, chain and sign where the
// pipeline leaves them out. Records are acknowledged when a signed checkpoint covering them is fsynced; the
// sources' write-ahead runs just before the checkpoint is written.
import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { z } from 'zod'
import { MaifError, wrapError } from '../../core/errors.js'
import { loadKeyring, resolveKeyringDir } from '../../core/format/keyring.js'
import type { AwsOptions } from '../../core/aws/config.js'
import { WriterSession } from '../../core/container/session.js'
import { AuditFileLog, auditedKeyProvider } from '../../core/audit/audit-file.js'
import { AuditLogger, type AuditEvent, type AuditInput } from '../../core/audit/events.js'
import { containerKeys } from '../../core/runtime/container-keys.js'
import { defineSink } from '../../core/runtime/component.js'
import { assertWritable } from '../../core/runtime/fs-checks.js'
import type { Batch, LinesBatch, SinkInstance } from '../../core/runtime/types.js'
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
    storeIndex: z.boolean().describe('when the run wrote embeddings (embed-index), store their vector index (an XVIX block) at the end, so `maif search` loads it (default true; single containers only)').optional(),
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
    const { stages, keyProvider: keys, signer, destroy: releaseKeys } = await containerKeys(ctx, `container ${o.path}`)
    // Each container session's open and close and each data-key use is an audit event (one per session, none per
    // block): in MAIF_AUDIT_LOG when it is set, and, for a single container in a pipeline with the audit stage,
    // in the container itself: the events so far ride in the first AUDT batch (as a log of their own, same
    // chain of boxes, same checkpoints). The close event comes after the last commit, so only the file has it.
    const single = templateNames(o.path).length === 0
    let pending: AuditEvent[] | null = single ? [] : null
    const tee = (e: AuditEvent): void => { pending?.push(e) }
    const audit: { emit(i: AuditInput): AuditEvent } | undefined = AuditFileLog.fromEnv(process.env, { tee }) ?? (single ? new AuditLogger({ write: tee }) : undefined)
    const keyProvider = keys && audit ? auditedKeyProvider(keys, (e) => audit.emit(e)) : keys
    const enc = keyProvider !== undefined
    const open = async (file: string, hooks: WriterHooks): Promise<ContainerWriter> => {
      mkdirSync(dirname(file), { recursive: true })
      let session: WriterSession
      try {
        session = await WriterSession.open(file, {
          ...(keyProvider ? { keyProvider } : {}), signer,
          encryption: enc ? 'required' : 'none', writer: `maif run ${ctx.pipeline}`.trim(),
          ...(o.allowNewSigner === undefined ? {} : { allowNewSigner: o.allowNewSigner }),
          ...(o.allowPlaintextAppend === undefined ? {} : { allowPlaintextAppend: o.allowPlaintextAppend }),
        })
      } catch (err) {
        audit?.emit({ action: 'container.open', outcome: 'failure', type: ['access'], file: { path: file }, error: { code: (err as MaifError).code ?? 'MAIF_ERR_IO', message: (err as Error).message } })
        throw err
      }
      const ids = { container_id: session.containerId.toString('hex'), session_id: session.sessionId.toString('hex') }
      audit?.emit({ action: session.startOffset === 0 ? 'container.create' : 'container.open', outcome: 'success', type: [session.startOffset === 0 ? 'creation' : 'access'], file: { path: file }, maif: { ...ids, encrypted: session.encrypted, pipeline: ctx.pipeline } })
      const w = openWriter(session, stages, file, o.fsync, ctx, hooks)
      if (!audit) return w
      return {
        write: (b) => w.write(b),
        destroy: (err) => w.destroy(err),
        get commits() { return w.commits },
        async close() {
          try {
            await w.close()
          } catch (err) {
            audit.emit({ action: 'container.close', outcome: 'failure', type: ['end'], file: { path: file }, error: { code: (err as MaifError).code ?? 'MAIF_ERR_IO', message: (err as Error).message }, maif: { ...ids, commits: w.commits } })
            throw err
          }
          audit.emit({ action: 'container.close', outcome: 'success', type: ['end'], file: { path: file }, maif: { ...ids, commits: w.commits } })
        },
      }
    }
    if (templateNames(o.path).length > 0) {
      // One container per route ({topic}/{partition}); the KMS clients serve them all and go with the sink.
      const routed = routedSink(o.path, ctx, open, { lockWaitMs: o.lockWaitMs ?? 30_000, log: ctx.logger })
      return {
        ...routed,
        async close() { try { await routed.close() } finally { releaseKeys() } },
        async destroy(err) { try { await routed.destroy?.(err) } finally { releaseKeys() } },
      }
    }
    const counter = ctx.metrics.stage('container', ctx.label)
    // The session events put into the container are records the engine never sent: commits count them, the
    // acknowledgements must not. They sit after the `injectedAt` records the engine had sent before them.
    let sent = 0
    let injectedAt = Infinity
    let injected = 0
    const engineCount = (records: number): number => (records <= injectedAt ? records : Math.max(injectedAt, records - injected))
    let w: ContainerWriter
    try {
      w = await open(path, {
        beforeCommit: (c) => ctx.acks.committing(engineCount(c.records), { key: path, treeSize: c.treeSize }),
        onCommit: (c) => { counter.recordsOut = engineCount(c.records); ctx.acks.committed(engineCount(c.records)) },
        onSkip: (records) => { counter.recordsOut = engineCount(records); ctx.acks.committed(engineCount(records)) },
      })
    } catch (err) {
      releaseKeys()
      throw err
    }
    let embedded = false
    return {
      // A release (a route the source lost) means nothing to a single container: what came before is in it.
      write: async (batch: Batch) => {
        if (batch.release) return
        if (batch.kind === 'binary' && batch.blockType === 'EMBD') embedded = true
        if (pending && batch.derived && batch.blockType === 'AUDT' && batch.kind === 'lines') {
          const events = pending
          pending = null
          if (events.length > 0) {
            injectedAt = sent
            injected = events.length
            batch = withEvents(batch, events)
          }
        }
        if (injected === 0) sent += batch.count
        await w.write(batch)
      },
      async close() {
        try {
          try {
            await w.close()
          } catch (err) {
            throw wrapError('MAIF_ERR_IO', `writing the container ${o.path} failed`, err)
          }
          // Every record is durable (and acknowledged) before this: the index is a session of its own after
          // the last checkpoint. A run that stops on a signal leaves it out, to exit promptly.
          if (embedded && o.storeIndex !== false && !ctx.stop.aborted) {
            const { storeIndexAfterRun } = await import('./store-index.js')
            await storeIndexAfterRun(path, { ...(keyProvider ? { keyProvider } : {}), signer, ...(o.allowNewSigner === undefined ? {} : { allowNewSigner: o.allowNewSigner }) }, ctx.logger)
          }
        } finally {
          releaseKeys()
        }
      },
      destroy: (err) => { w.destroy(err); releaseKeys() },
      describe: () => ({ path, commits: w.commits }),
    }
  },
})

/** An AUDT batch with `events` before its own, tied to the same source record (so acknowledged with it). */
function withEvents(b: LinesBatch, events: AuditEvent[]): LinesBatch {
  const n = events.length
  const origin = new Uint32Array(n + b.count)
  origin.fill(b.origin?.[0] ?? 0, 0, n)
  for (let i = 0; i < b.count; i++) origin[n + i] = b.origin ? b.origin[i]! : i
  return { ...b, data: Buffer.concat([Buffer.from(events.map((e) => JSON.stringify(e) + '\n').join('')), b.data]), count: n + b.count, origin }
}

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
    const { KmsKeyProvider } = await import('../../core/format/kms/key-provider.js')
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
    const { KmsSigner } = await import('../../core/format/kms/signer.js')
    await KmsSigner.create({ keyId: s.data.keyId, ...(s.data.aws ? { aws: s.data.aws as AwsOptions } : {}) }).then((k) => k.destroy(), (err: unknown) => report('sign.kms', msg(err)))
  }
}
