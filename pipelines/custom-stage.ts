// The agent-logs pipeline as TypeScript, with a user transform that redacts e-mail addresses from each
// record before it is framed. `redact-emails` is not built in: the pipeline declares it (defineTransform)
// and registers it for itself (definePipeline's `components`); its options are checked like a built-in's.
//
// Strings may use the same ${VAR} / ${VAR:default} interpolation as YAML (single quotes, not a template
// literal): the loader applies it with the env it is given, so one module serves every environment.
//
// `maif run` loads .ts pipelines on Node 20 too (it transpiles them with jiti).
import { definePipeline, defineTransform, mapRecords, z, type PipelineRecord } from 'maif'

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g

/** The transform: a strict options schema, and a function per record (dead letters and retries come with mapRecords). */
export const redactEmails = defineTransform({
  type: 'redact-emails',
  description: 'replace e-mail addresses in the given fields',
  options: {
    fields: z.array(z.string().min(1)).min(1).describe('record fields to redact'),
    replacement: z.string().describe('what replaces each address (default [redacted])').optional(),
  },
  build(o, ctx) {
    const replacement = o.replacement ?? '[redacted]'
    return mapRecords((rec: PipelineRecord) => {
      const value = rec.value as Record<string, unknown>
      let changed = false
      const out: Record<string, unknown> = { ...value }
      for (const f of o.fields) {
        const v = value[f]
        if (typeof v === 'string' && EMAIL.test(v)) {
          out[f] = v.replace(EMAIL, replacement)
          changed = true
        }
        EMAIL.lastIndex = 0
      }
      return changed ? { value: out, raw: rec.raw } : rec
    }, ctx)
  },
})

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
}, { components: [redactEmails] })
