// `maif pack` is a built-in pipeline: the same engine and components as `maif run`, defined from its flags,
// with the same signal handling (SIGTERM writes a final checkpoint and exits 0).
import { CODECS, type Codec } from '../core/format/format.js'
import { resolveKeyringDir } from '../core/format/keyring.js'
import type { PipelineDefinition } from '../core/runtime/pipeline-schema.js'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { isS3Url, parseS3Url } from '../core/aws/s3-url.js'
import { MaifError } from '../core/errors.js'
import { intOpt, parse, strOpt, usage } from './args.js'
import { gracefulSignals } from './signals.js'

type FileFormat = 'jsonl' | 'text' | 'binary'

export function packPipeline(inputs: string[], o: { out: string; keyring?: string | undefined; format: FileFormat; codec: Codec; blockRecords?: number; checkpointBlocks?: number; plaintext: boolean; kmsKeyIds?: string[]; kmsSignKeyId?: string; deadLetters?: string }): PipelineDefinition {
  // One s3:// INPUT (an object, or a prefix ending in '/') is read by the s3 source; local inputs by the file source.
  const remote = inputs.length === 1 && isS3Url(inputs[0]!)
  return {
    name: 'pack',
    source: remote ? { type: 's3', url: inputs[0]!, format: o.format } : { type: 'file', paths: inputs, format: o.format },
    transforms: [
      { type: 'frame', ...(o.blockRecords ? { blockRecords: o.blockRecords } : {}) },
      { type: 'compress', codec: o.codec },
      ...(o.plaintext ? [] : [{ type: 'encrypt' as const, ...(o.kmsKeyIds?.length ? { kms: { keyId: o.kmsKeyIds } } : {}) }]),
      { type: 'chain', ...(o.checkpointBlocks ? { checkpointEvery: { blocks: o.checkpointBlocks } } : {}) },
      { type: 'sign', ...(o.kmsSignKeyId ? { kms: { keyId: o.kmsSignKeyId } } : {}) },
    ],
    sink: { type: 'container', path: o.out },
    deadLetter: { type: 'file', path: o.deadLetters ?? `${o.out}.rejected.jsonl` },
    security: { ...(o.keyring ? { keyring: o.keyring } : {}), requireEncryption: !o.plaintext },
  }
}

export default async function pack(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    out: { type: 'string', short: 'o' }, keyring: { type: 'string' }, format: { type: 'string' }, codec: { type: 'string' },
    'block-records': { type: 'string' }, 'checkpoint-blocks': { type: 'string' }, plaintext: { type: 'boolean' },
    'allow-new-signer': { type: 'boolean' }, 'allow-plaintext-append': { type: 'boolean' }, force: { type: 'boolean' },
    'kms-key-id': { type: 'string', multiple: true }, 'kms-sign-key-id': { type: 'string' },
  })
  if (positionals.length === 0) usage('pack needs at least one INPUT file')
  if (!values.out) usage('pack needs -o OUT.maif')
  const format = (values.format ?? 'jsonl') as FileFormat
  if (!['jsonl', 'text', 'binary'].includes(format)) usage('--format must be jsonl, text or binary')
  const codec = (values.codec ?? 'zstd') as Codec
  if (!(codec in CODECS)) usage('--codec must be zstd, gzip, brotli or none')
  const keyring = resolveKeyringDir({ flag: strOpt(values.keyring) })
  const kmsKeyIds = (values['kms-key-id'] ?? []) as string[]
  const kmsSignKeyId = strOpt(values['kms-sign-key-id'])
  if (kmsKeyIds.length > 0 && values.plaintext) usage('--kms-key-id and --plaintext contradict each other')
  // The keyring is needed unless KMS holds both the signing key and (when encrypting) the data keys.
  if (!keyring && !(kmsSignKeyId && (kmsKeyIds.length > 0 || values.plaintext))) {
    usage('pack needs --keyring DIR (or MAIF_KEYRING) for its signing key and data keys (create one with maif keygen), or --kms-sign-key-id and --kms-key-id')
  }
  const out = values.out as string
  if (positionals.some(isS3Url) && positionals.length > 1) usage('an s3:// INPUT (an object or a prefix/) must be the only INPUT')
  if (values.force && !isS3Url(out)) usage('--force applies to an s3:// output (a local container is appended to)')
  const kms = { ...(kmsKeyIds.length > 0 ? { kmsKeyIds } : {}), ...(kmsSignKeyId ? { kmsSignKeyId } : {}) }
  if (isS3Url(out)) return packToS3(positionals, out, values, keyring, format, codec, kms)
  const blockRecords = intOpt(values['block-records'], 'block-records')
  const checkpointBlocks = intOpt(values['checkpoint-blocks'], 'checkpoint-blocks')
  const def = packPipeline(positionals, {
    out, keyring, format, codec, plaintext: values.plaintext === true, ...kms,
    ...(blockRecords ? { blockRecords } : {}), ...(checkpointBlocks ? { checkpointBlocks } : {}),
  })
  await import('../builtins.js')
  const [{ runPipeline }, { withAppendPolicy }] = await Promise.all([import('../core/runtime/engine.js'), import('../core/container/session.js')])
  const signals = gracefulSignals()
  try {
    const policy = { allowNewSigner: values['allow-new-signer'] === true, allowPlaintextAppend: values['allow-plaintext-append'] === true }
    const run = (): ReturnType<typeof runPipeline> => runPipeline(def, { stop: signals.stop, signal: signals.abort })
    // The policy reaches the session through an AsyncLocalStorage, which on Node 20 runs hooks on every promise of
    // the run: only when a flag asks for it (without one, a session appends under the default policy).
    const r = policy.allowNewSigner || policy.allowPlaintextAppend ? await withAppendPolicy(policy, run) : await run()
    const c = r.outputs[0]!
    process.stdout.write(
      `${r.status === 'stopped' ? 'stopped: ' : ''}packed ${r.delivered} record(s) from ${r.files} file(s) into ${out}: ${c.records} records in ${c.commits} commit(s)` +
      ` (${(r.bytes / 1e6 / Math.max(r.durationMs / 1000, 1e-3)).toFixed(1)} MB/s)\n` +
      (format === 'binary' ? '' : `lines read ${r.recordsIn} = packed ${r.delivered} + rejected ${r.deadLetters}\n`) +
      (r.deadLetters ? `rejected lines written to ${r.deadLetterFile}\n` : ''),
    )
    return r.reconciled ? 0 : 1
  } finally {
    signals.dispose()
  }
}

/**
 * pack -o s3://bucket/key.maif: S3 objects cannot be appended to, so an existing key is refused unless --force.
 * The container is written by the same pipeline to a private temporary file (disk, not memory, holds it), and
 * uploaded with lib-storage's Upload (bounded parts) only once it is complete and every record reconciled; a
 * failed or stopped run uploads nothing, so no object holds part of the input.
 */
async function packToS3(inputs: string[], out: string, values: Record<string, unknown>, keyring: string | undefined, format: FileFormat, codec: Codec, kms: { kmsKeyIds?: string[]; kmsSignKeyId?: string }): Promise<number> {
  const loc = parseS3Url(out)
  if (loc.isPrefix) usage('-o s3://BUCKET/KEY.maif names one object, not a prefix')
  const { s3Client, s3Error } = await import('../core/aws/s3.js')
  const { uploadFile } = await import('../core/aws/upload.js')
  const { HeadObjectCommand } = await import('@aws-sdk/client-s3')
  const client = s3Client()
  const tmp = await mkdtemp(join(tmpdir(), 'maif-pack-'))
  const signals = gracefulSignals()
  try {
    if (values.force !== true) {
      const exists = await client.send(new HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key })).then(() => true, (err: unknown) => {
        const e = s3Error(`HEAD ${out}`, err)
        if (e.code === 'MAIF_ERR_S3_NOT_FOUND') return false
        throw e
      })
      if (exists) throw new MaifError('MAIF_ERR_S3_EXISTS', `${out} already exists, and an S3 object cannot be appended to; pass --force to replace it`)
    }
    const local = join(tmp, basename(loc.key) || 'out.maif')
    const blockRecords = intOpt(values['block-records'], 'block-records')
    const checkpointBlocks = intOpt(values['checkpoint-blocks'], 'checkpoint-blocks')
    const rejected = `${basename(loc.key)}.rejected.jsonl`
    const def = packPipeline(inputs, {
      out: local, keyring, format, codec, plaintext: values.plaintext === true, deadLetters: rejected, ...kms,
      ...(blockRecords ? { blockRecords } : {}), ...(checkpointBlocks ? { checkpointBlocks } : {}),
    })
    await import('../builtins.js')
    const { runPipeline } = await import('../core/runtime/engine.js')
    const r = await runPipeline(def, { stop: signals.stop, signal: signals.abort })
    if (r.status !== 'completed' || !r.reconciled) {
      process.stderr.write(`maif pack: the run ${r.status === 'stopped' ? 'was stopped' : 'did not reconcile'}; nothing was uploaded to ${out}\n`)
      return 1
    }
    await uploadFile(client, loc.bucket, loc.key, local).done
    const c = r.outputs[0]!
    process.stdout.write(
      `packed ${r.delivered} record(s) from ${r.files} input(s) into ${out}: ${c.records} records in ${c.commits} commit(s)\n` +
      (format === 'binary' ? '' : `lines read ${r.recordsIn} = packed ${r.delivered} + rejected ${r.deadLetters}\n`) +
      (r.deadLetters ? `rejected lines written to ${r.deadLetterFile}\n` : ''),
    )
    return 0
  } finally {
    signals.dispose()
    await rm(tmp, { recursive: true, force: true })
    client.destroy()
  }
}
