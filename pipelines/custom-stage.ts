// The agent-logs pipeline as TypeScript, with a user plugin stage that redacts e-mail addresses from each
// record before it is framed. `redact-emails` is not built in: the engine looks it up in its stage registry
// (and validates its options) when it builds the pipeline; the definition layer only checks its name.
//
// Strings may use the same ${VAR} / ${VAR:default} interpolation as YAML (single quotes, not a template
// literal): the loader applies it with the env it is given, so one module serves every environment.
//
// `maif run` loads .ts pipelines on Node 20 too (it transpiles them with jiti).
import { definePipeline } from '../src/core/runtime/pipeline-def.js'
import { recordStage, type PipelineRecord } from '../src/core/runtime/registry.js'
import { MaifError } from '../src/core/errors.js'

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g

interface RedactOptions extends Record<string, unknown> { fields: string[]; replacement: string }

/** The plugin stage: registered by name for this pipeline; its options are checked when the pipeline is built. */
export const stages = {
  'redact-emails': recordStage<RedactOptions>(
    (rec: PipelineRecord, o) => {
      const value = rec.value as Record<string, unknown>
      let changed = false
      const out: Record<string, unknown> = { ...value }
      for (const f of o.fields) {
        const v = value[f]
        if (typeof v === 'string' && EMAIL.test(v)) {
          out[f] = v.replace(EMAIL, o.replacement)
          changed = true
        }
        EMAIL.lastIndex = 0
      }
      return changed ? { value: out, raw: rec.raw } : rec
    },
    (opts) => {
      const fields = opts.fields
      if (!Array.isArray(fields) || !fields.every((f) => typeof f === 'string')) throw new MaifError('MAIF_ERR_INVALID_OPTION', 'redact-emails: fields must be a list of field names')
      return { fields, replacement: typeof opts.replacement === 'string' ? opts.replacement : '[redacted]' }
    },
  ),
}

export default definePipeline({
  name: 'agent-logs-redacted',
  source: {
    type: 'file',
    path: 'samples/agent-logs.jsonl',
    format: 'jsonl',
    maxLineLength: 1048576,
  },
  transforms: [
    {
      type: 'redact-emails',
      label: 'pii-redaction',
      fields: ['text', 'output'],
      replacement: '[redacted-email]',
    },
    { type: 'frame', blockRecords: 256, blockBytes: 1048576, blockMs: 1000, blockType: 'JSON', agent: 'sample-agents' },
    { type: 'compress', codec: 'zstd', level: 3 },
    { type: 'encrypt', keyring: '${MAIF_KEYRING:.maif-keys}' },
    { type: 'chain', checkpointEvery: { blocks: 64 } },
    { type: 'sign' },
  ],
  sink: { type: 'container', path: '${MAIF_OUT:out/agent-logs.maif}', fsync: 'commit' },
  deadLetter: { type: 'file', path: '${MAIF_OUT:out/agent-logs.maif}.dead-letter.jsonl' },
  retry: { maxAttempts: 5, backoff: { initialMs: 100, maxMs: 5000, multiplier: 2 } },
  labels: { team: 'platform', dataset: 'agent-logs' },
})
