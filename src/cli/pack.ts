// `maif pack` is a built-in pipeline: the same engine and components as `maif run`, defined from its flags,
// with the same signal handling (SIGTERM writes a final checkpoint and exits 0).
import { CODECS, type Codec } from '../core/format/format.js'
import { resolveKeyringDir } from '../core/format/keyring.js'
import type { PipelineDefinition } from '../core/runtime/pipeline-schema.js'
import { intOpt, parse, strOpt, usage } from './args.js'
import { gracefulSignals } from './signals.js'

type FileFormat = 'jsonl' | 'text' | 'binary'

export function packPipeline(inputs: string[], o: { out: string; keyring?: string | undefined; format: FileFormat; codec: Codec; blockRecords?: number; checkpointBlocks?: number; plaintext: boolean; kmsKeyIds?: string[]; kmsSignKeyId?: string }): PipelineDefinition {
  return {
    name: 'pack',
    source: { type: 'file', paths: inputs, format: o.format },
    transforms: [
      { type: 'frame', ...(o.blockRecords ? { blockRecords: o.blockRecords } : {}) },
      { type: 'compress', codec: o.codec },
      ...(o.plaintext ? [] : [{ type: 'encrypt' as const, ...(o.kmsKeyIds?.length ? { kms: { keyId: o.kmsKeyIds } } : {}) }]),
      { type: 'chain', ...(o.checkpointBlocks ? { checkpointEvery: { blocks: o.checkpointBlocks } } : {}) },
      { type: 'sign', ...(o.kmsSignKeyId ? { kms: { keyId: o.kmsSignKeyId } } : {}) },
    ],
    sink: { type: 'container', path: o.out },
    deadLetter: { type: 'file', path: `${o.out}.rejected.jsonl` },
    security: { ...(o.keyring ? { keyring: o.keyring } : {}), requireEncryption: !o.plaintext },
  }
}

export default async function pack(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    out: { type: 'string', short: 'o' }, keyring: { type: 'string' }, format: { type: 'string' }, codec: { type: 'string' },
    'block-records': { type: 'string' }, 'checkpoint-blocks': { type: 'string' }, plaintext: { type: 'boolean' },
    'allow-new-signer': { type: 'boolean' }, 'allow-plaintext-append': { type: 'boolean' },
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
  const blockRecords = intOpt(values['block-records'], 'block-records')
  const checkpointBlocks = intOpt(values['checkpoint-blocks'], 'checkpoint-blocks')
  const def = packPipeline(positionals, {
    out, keyring, format, codec, plaintext: values.plaintext === true,
    ...(kmsKeyIds.length > 0 ? { kmsKeyIds } : {}), ...(kmsSignKeyId ? { kmsSignKeyId } : {}),
    ...(blockRecords ? { blockRecords } : {}), ...(checkpointBlocks ? { checkpointBlocks } : {}),
  })
  await import('../builtins.js')
  const [{ runPipeline }, { withAppendPolicy }] = await Promise.all([import('../core/runtime/engine.js'), import('../core/container/session.js')])
  const signals = gracefulSignals()
  try {
    const policy = { allowNewSigner: values['allow-new-signer'] === true, allowPlaintextAppend: values['allow-plaintext-append'] === true }
    const r = await withAppendPolicy(policy, () => runPipeline(def, { stop: signals.stop, signal: signals.abort }))
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
