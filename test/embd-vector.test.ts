// Test vector for the EMBD payload (docs/FORMAT.md §5.7): fixed records through the embed-index transform
// with the default hashing embedder at 16 dimensions, checked byte for byte. It pins the layout and the
// hashing embedder's output, which searches of existing containers depend on. Regenerate (after a deliberate
// change, with FORMAT.md updated and the embedder id's version bumped) with:
//   MAIF_WRITE_VECTORS=1 npx tap test/embd-vector.test.ts
import t from 'tap'
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { embedderIndexer } from '../src/transforms/embedder-indexer.js'
import { decodeEmbeddings } from '../src/core/semantic/embd.js'
import { RunMetrics } from '../src/core/runtime/observability.js'
import type { BinaryBatch, BuildContext, TransformInstance } from '../src/core/runtime/types.js'

const BIN = fileURLToPath(new URL('./vectors/embd-v1.bin', import.meta.url))
const JSON_PATH = fileURLToPath(new URL('./vectors/embd-v1.json', import.meta.url))
const RECORDS = ['{"text":"agent started task 42"}', '{"note":"no text field"}', '{"text":"Ünïcödé tëxt, NFKC ﬁ ligature"}', '{"text":"task 42 finished"}']

t.test('the EMBD vector is reproduced byte for byte', async (t) => {
  const ctx = { type: 'embed-index', label: 'embed-index', metrics: new RunMetrics('v') } as unknown as BuildContext
  const x = (await embedderIndexer.build({ dims: 16, index: { type: 'hnsw', metric: 'cosine', m: 16, efConstruction: 128 } }, ctx)) as TransformInstance
  const data = Buffer.from(RECORDS.map((r) => r + '\n').join(''))
  const out = await x.transform({ kind: 'lines', format: 'json', data, count: RECORDS.length, ack: 0 })
  const payload = (out[1] as BinaryBatch).pieces[0]!.data
  const d = decodeEmbeddings(payload)
  const expected = {
    description: 'EMBD payload (FORMAT.md §5.7) of the records below, embedded by embed-index with { dims: 16 } (hashing embedder)',
    sha256: createHash('sha256').update(payload).digest('hex'),
    size: payload.length,
    records: RECORDS,
    model: d.model,
    ordinals: [...d.ordinals],
    recordSha256: Array.from({ length: d.ordinals.length }, (_, i) => d.hashes.subarray(i * 32, i * 32 + 32).toString('hex')),
    vectors: Array.from({ length: d.ordinals.length }, (_, i) => [...d.vectors.subarray(i * 16, i * 16 + 16)]),
  }
  if (process.env.MAIF_WRITE_VECTORS === '1') {
    writeFileSync(BIN, payload)
    writeFileSync(JSON_PATH, JSON.stringify(expected, null, 2) + '\n')
  }
  const stored = readFileSync(BIN)
  t.ok(payload.equals(stored), 'the transform writes the stored bytes')
  t.strictSame(JSON.parse(readFileSync(JSON_PATH, 'utf8')), expected, 'and the description matches them')
  t.equal(createHash('sha256').update(stored).digest('hex'), expected.sha256)
  // Independent of the decoder: the header fields at their documented offsets.
  t.equal(stored.toString('ascii', 0, 4), 'MEV1')
  t.equal(stored.readUInt32BE(12), 16, 'dims at offset 12')
  t.equal(stored.readUInt32BE(16), 3, 'count at offset 16')
  t.equal(stored.readUInt32BE(20), 4, 'batch records at offset 20')
  const modelLen = stored.readUInt16BE(24)
  const vecAt = 26 + modelLen + 3 * 36
  t.equal(stored.readFloatLE(vecAt), expected.vectors[0]![0], 'the first component, little-endian, after the ordinals and hashes')
  t.equal(stored.subarray(26 + modelLen + 12, 26 + modelLen + 44).toString('hex'), createHash('sha256').update(RECORDS[0]!).digest('hex'))
})
