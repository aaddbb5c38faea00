// The same pipeline as agent-logs-to-container.yaml, written in TypeScript: both yield the same records
// in their containers (test/engine-yaml-ts.test.ts checks it).
import { definePipeline } from 'maif'

export default definePipeline({
  name: 'agent-logs-to-container',
  source: { type: 'file', path: 'samples/agent-logs.jsonl', format: 'jsonl', maxLineLength: 1048576 },
  transforms: [
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
