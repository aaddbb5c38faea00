// Sink `container`: a MAIF container file. It owns the container write path, built once from the pipeline's
// block stages as written (frame → compress → encrypt → chain → sign), adding frame, chain and sign where the
// pipeline leaves them out. Records are acknowledged when a signed checkpoint covering them is fsynced; the
// sources' write-ahead runs just before the checkpoint is written.
import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { z } from 'zod'
import { wrapError } from '../../core/errors.js'
import { loadKeyring, resolveKeyringDir } from '../../core/format/keyring.js'
import { WriterSession } from '../../core/container/session.js'
import { ContainerSink as Appender } from '../../core/container/write/appender.js'
import { buildWritePath } from '../../core/container/write-path.js'
import { containerKeys } from '../../core/runtime/container-keys.js'
import type { Commit } from '../../core/container/blocks.js'
import { defineSink } from '../../core/runtime/component.js'
import { assertWritable } from '../../core/runtime/fs-checks.js'
import type { StageCounters } from '../../core/runtime/observability.js'
import type { Batch, SinkInstance } from '../../core/runtime/types.js'

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
    // The keyring the sink would load (sign's, else encrypt's, else security.keyring, with --keyring and MAIF_KEYRING).
    const stages = (Array.isArray(ctx.definition.transforms) ? ctx.definition.transforms : []) as Array<{ type?: unknown; keyring?: unknown }>
    const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
    const enc = str(stages.find((t) => t.type === 'encrypt')?.keyring)
    const sig = str(stages.find((t) => t.type === 'sign')?.keyring)
    const keys = resolveKeyringDir({ flag: ctx.keyringFlag, pipeline: sig ?? enc ?? ctx.defaultKeyring })
    if (!keys) ctx.report('keyring', 'a container sink needs a keyring (encrypt.keyring, sign.keyring, security.keyring, --keyring or MAIF_KEYRING)')
    else await loadKeyring(resolve(ctx.cwd, keys)).catch((err: unknown) => ctx.report('keyring', err instanceof Error ? err.message : String(err)))
    await assertWritable(o.path, ctx.cwd)
  },
  async build(o, ctx): Promise<SinkInstance> {
    const path = resolve(ctx.cwd, o.path)
    const { stages, keyProvider, signer } = await containerKeys(ctx, `container ${o.path}`)
    mkdirSync(dirname(path), { recursive: true })
    const session = await WriterSession.open(path, {
      ...(keyProvider ? { keyProvider } : {}), signer,
      encryption: keyProvider ? 'required' : 'none', writer: `maif run ${ctx.pipeline}`.trim(),
      ...(o.allowNewSigner === undefined ? {} : { allowNewSigner: o.allowNewSigner }),
      ...(o.allowPlaintextAppend === undefined ? {} : { allowPlaintextAppend: o.allowPlaintextAppend }),
    })
    let commits = 0
    let streams: Transform[]
    let appender: Appender
    try {
      ;({ streams } = buildWritePath(session, stages, {
        pool: ctx.pool(),
        around: (type, t) => (type === 'chain' || type === 'sign' ? [t] : [t, meter(ctx.metrics.stage(type, ctx.blockStages.find((e) => e.type === type)?.label ?? type))]),
      }))
      appender = new Appender({
        session, ...(o.fsync ? { fsync: o.fsync } : {}),
        beforeCommit: (c: Commit) => ctx.acks.committing(c.records, { key: path, treeSize: c.treeSize }),
      })
    } catch (err) {
      await session.close()
      throw err
    }
    const counter = ctx.metrics.stage('container', ctx.label)
    appender.on('commit', (c: Commit) => {
      commits++
      counter.recordsOut = c.records
      ctx.acks.committed(c.records)
    })
    const head = streams[0]!
    const done = pipeline([...streams, appender])
    let failed: unknown
    done.catch((err: unknown) => { failed ??= err }) // surfaced by the next write or close, never unhandled
    return {
      async write(batch: Batch) {
        if (failed !== undefined) throw failed
        if (!head.write(batch)) await Promise.race([new Promise((r) => head.once('drain', r)), done])
        if (failed !== undefined) throw failed
      },
      async close() {
        head.end()
        try {
          await done
        } catch (err) {
          throw wrapError('MAIF_ERR_IO', `writing the container ${o.path} failed`, err)
        }
      },
      destroy(err) {
        head.destroy(err)
        appender.destroy(err)
      },
      describe: () => ({ path, commits }),
    }
  },
})

/** Counts what passes a stage (records and bytes), for metrics; one cheap hop per block. */
function meter(c: StageCounters): Transform {
  return new Transform({
    objectMode: true, highWaterMark: 2,
    transform(chunk: { records?: number; count?: number; data?: Buffer; body?: Buffer; payloadLen?: number }, _e, cb: TransformCallback) {
      const n = chunk.records ?? chunk.count ?? 0
      const bytes = chunk.payloadLen ?? chunk.body?.length ?? chunk.data?.length ?? 0
      c.recordsIn += n
      c.recordsOut += n
      c.bytesIn += bytes
      c.bytesOut += bytes
      cb(null, chunk)
    },
  })
}
