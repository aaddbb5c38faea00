// `maif pack` is a built-in pipeline: the same engine and components as `maif run`, defined from its flags,
// with the same signal handling (SIGTERM writes a final checkpoint and exits 0).
import { CODECS, type Codec } from '../core/format/format.js'
import { resolveKeyringDir } from '../core/format/keyring.js'
import type { PipelineDefinition } from '../core/runtime/pipeline-schema.js'
import { intOpt, parse, strOpt, usage } from './args.js'
import { gracefulSignals } from './signals.js'

type FileFormat = 'jsonl' | 'text' | 'binary'

export function packPipeline(inputs: string[], o: { out: string; keyring: string; format: FileFormat; codec: Codec; blockRecords?: number; checkpointBlocks?: number; plaintext: boolean }): PipelineDefinition {
  return {
    name: 'pack',
    source: { type: 'file', paths: inputs, format: o.format },
    transforms: [
      { type: 'frame', ...(o.blockRecords ? { blockRecords: o.blockRecords } : {}) },
      { type: 'compress', codec: o.codec },
      ...(o.plaintext ? [] : [{ type: 'encrypt' as const }]),
      { type: 'chain', ...(o.checkpointBlocks ? { checkpointEvery: { blocks: o.checkpointBlocks } } : {}) },
      { type: 'sign' },
    ],
    sink: { type: 'container', path: o.out },
    deadLetter: { type: 'file', path: `${o.out}.rejected.jsonl` },
    security: { keyring: o.keyring, requireEncryption: !o.plaintext },
  }
}

export default async function pack(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    out: { type: 'string', short: 'o' }, keyring: { type: 'string' }, format: { type: 'string' }, codec: { type: 'string' },
    'block-records': { type: 'string' }, 'checkpoint-blocks': { type: 'string' }, plaintext: { type: 'boolean' },
    'allow-new-signer': { type: 'boolean' }, 'allow-plaintext-append': { type: 'boolean' },
  })
  if (positionals.length === 0) usage('pack needs at least one INPUT file')
  if (!values.out) usage('pack needs -o OUT.maif')
  const format = (values.format ?? 'jsonl') as FileFormat
  if (!['jsonl', 'text', 'binary'].includes(format)) usage('--format must be jsonl, text or binary')
  const codec = (values.codec ?? 'zstd') as Codec
  if (!(codec in CODECS)) usage('--codec must be zstd, gzip, brotli or none')
  const keyring = resolveKeyringDir({ flag: strOpt(values.keyring) })
  if (!keyring) usage('pack needs --keyring DIR (or MAIF_KEYRING) for its signing key; create one with maif keygen')
  const out = values.out as string
  const blockRecords = intOpt(values['block-records'], 'block-records')
  const checkpointBlocks = intOpt(values['checkpoint-blocks'], 'checkpoint-blocks')
  const def = packPipeline(positionals, {
    out, keyring, format, codec, plaintext: values.plaintext === true,
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
