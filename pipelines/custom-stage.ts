// The agent-logs pipeline as TypeScript, with a user plugin stage that redacts e-mail addresses from each
// record before it is framed. `redact-emails` is not built in: the engine looks it up in its stage registry
// (and validates its options) when it builds the pipeline; the definition layer only checks its name.
//
// Strings may use the same ${VAR} / ${VAR:default} interpolation as YAML (single quotes, not a template
// literal): the loader applies it with the env it is given, so one module serves every environment.
//
// Node 20 cannot import .ts by itself: run it with Node >= 22.18, or `node --import tsx`, or compile it.
import { definePipeline } from '../src/core/pipeline-def.js'

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
