// Transform embed-index on its own: each line batch is followed by one derived EMBD batch whose payload holds
// the embeddings of the records that have text, their ordinals in the batch and the SHA-256 of their bytes;
// the acknowledgement mapping makes the EMBD record count as the batch's first record; lint keeps it last.
import t from 'tap'
import { embedderIndexer } from '../src/transforms/embedder-indexer.js'
import { decodeEmbeddings, encodeEmbeddings, recordHash } from '../src/core/semantic/embd.js'
import { HashingEmbedder } from '../src/core/semantic/hashing.js'
import { parseFieldPath, textAt } from '../src/core/semantic/field.js'
import { RunMetrics } from '../src/core/runtime/observability.js'
import { lintPipelineSource } from '../src/core/runtime/pipeline-def.js'
import '../src/builtins.js'
import type { BinaryBatch, Batch, BuildContext, LinesBatch, TransformInstance } from '../src/core/runtime/types.js'

const ctx: BuildContext = {
  type: 'embed-index', label: 'embed-index', cwd: '/', logger: undefined, metrics: new RunMetrics('t'), keyringFlag: undefined, defaultKeyring: undefined,
  pool: () => { throw new Error('unused') }, deadLetter: () => { throw new Error('no dead letters expected') }, stop: new AbortController().signal,
  retry: { maxAttempts: 1, initialMs: 0, maxMs: 0, multiplier: 1 }, batching: {}, outputs: [],
}
const build = async (o: Record<string, unknown>): Promise<TransformInstance> => (await embedderIndexer.build(o, ctx)) as TransformInstance
const lines = (recs: string[], extra: Partial<LinesBatch> = {}): LinesBatch => ({ kind: 'lines', format: 'json', data: Buffer.from(recs.map((r) => r + '\n').join('')), count: recs.length, ack: 'tok', ...extra })

t.test('a batch is followed by its EMBD block', async (t) => {
  const recs = ['{"text":"disk full on node-7"}', '{"other":1}', '{"text":"!!!"}', '{"text":"disk quota exceeded"}', 'not json']
  const x = await build({ dims: 64, index: { type: 'hnsw', metric: 'ip', m: 8, efConstruction: 40 } })
  const input = lines(recs, { origin: Uint32Array.of(3, 4, 6, 7, 9) })
  const out = await x.transform(input)
  t.equal(out.length, 2)
  t.equal(out[0], input, 'the records pass unchanged')
  const e = out[1] as BinaryBatch
  t.match(e, { kind: 'binary', format: 'binary', count: 1, ack: 'tok', derived: true, blockType: 'EMBD' })
  t.strictSame([...e.origin!], [3], 'the EMBD record counts as the first record of the batch')
  const d = decodeEmbeddings(e.pieces[0]!.data)
  t.strictSame([...d.ordinals], [0, 3], 'records without text (missing field, no features, not JSON) are not embedded')
  t.equal(d.batchRecords, 5)
  t.strictSame(d.index, { metric: 'ip', m: 8, efConstruction: 40 })
  t.equal(d.model, 'maif-hashing-v1:d=64,w=2,c=3-5')
  t.ok(d.hashes.subarray(32, 64).equals(recordHash(Buffer.from(recs[3]!))), 'each embedding carries its record\'s hash')
  const want = await new HashingEmbedder({ dims: 64 }).embed(['disk full on node-7', 'disk quota exceeded'])
  t.strictSame([...d.vectors], [...want], 'the vectors are the embedder\'s, float32 exactly')
  t.strictSame(e.pieces[0]!.meta, { model: d.model, dims: 64, embeddings: 2 })
})

t.test('fields, paths, text records and what passes', async (t) => {
  const x = await build({ field: '$.msg.parts[1]' })
  const [, e] = await x.transform(lines(['{"msg":{"parts":["a","second part"]}}'])) as [Batch, BinaryBatch]
  t.strictSame([...decodeEmbeddings(e.pieces[0]!.data).vectors], [...(await new HashingEmbedder().embed(['second part']))])
  const txt = await build({})
  const tb: LinesBatch = { kind: 'lines', format: 'text', data: Buffer.from('plain text line\n'), count: 1, ack: 1 }
  t.equal((await txt.transform(tb)).length, 2, 'a text record embeds whole')
  const none = lines(['{"x":1}'])
  t.strictSame(await txt.transform(none), [none], 'a batch with nothing to embed gets no EMBD block')
  const derived: LinesBatch = { ...lines(['{"text":"a b"}']), derived: true }
  t.strictSame(await txt.transform(derived), [derived], 'derived records are not embedded again')
  t.strictSame(parseFieldPath('a.b'), ['a', 'b'])
  t.strictSame(parseFieldPath("$['odd key'][2]"), ['odd key', 2])
  t.throws(() => parseFieldPath('$.a[*]'), { code: 'MAIF_ERR_INVALID_OPTION' })
  t.equal(textAt({ tags: ['x', 'y'] }, ['tags']), 'x y')
  t.equal(textAt({ n: 5 }, ['n']), undefined, 'numbers are not text')
  await t.rejects(build({ embedder: { type: 'onnx', model: '/m.onnx' } }), { code: 'MAIF_ERR_EMBEDDER_UNAVAILABLE' })
  const i8 = await build({ dtype: 'int8' })
  const [, q] = await i8.transform(lines(['{"text":"quantised vector"}'])) as [Batch, BinaryBatch]
  const d8 = decodeEmbeddings(q.pieces[0]!.data)
  t.equal(d8.dtype, 'int8', 'dtype int8 stores int8 vectors')
  const f = await new HashingEmbedder().embed(['quantised vector'])
  t.ok(d8.vectors.every((x, i) => Math.abs(x - f[i]!) < 0.01), 'close to the float embedding')
  t.equal(q.pieces[0]!.meta!.dtype, 'int8')
})

t.test('the EMBD codec refuses malformed payloads', async (t) => {
  const good = encodeEmbeddings({ model: 'm', dims: 2, normalized: true, index: { metric: 'cosine', m: 16, efConstruction: 128 }, batchRecords: 3, ordinals: Uint32Array.of(0, 2), hashes: Buffer.alloc(64, 1), vectors: Float32Array.of(1, 0, 0, 1) })
  t.strictSame([...decodeEmbeddings(good).vectors], [1, 0, 0, 1])
  t.throws(() => decodeEmbeddings(good.subarray(0, good.length - 1)), { code: 'MAIF_ERR_EMBEDDING' })
  const badMagic = Buffer.from(good); badMagic[0] = 0x41
  t.throws(() => decodeEmbeddings(badMagic), { code: 'MAIF_ERR_EMBEDDING' })
  const outside = Buffer.from(good); outside.writeUInt32BE(3, 27) // second ordinal = batchRecords
  t.throws(() => decodeEmbeddings(outside), { code: 'MAIF_ERR_EMBEDDING', message: /ordinals/ })
  t.throws(() => encodeEmbeddings({ model: 'm', dims: 2, normalized: true, index: { metric: 'l2', m: 16, efConstruction: 128 }, batchRecords: 1, ordinals: Uint32Array.of(0), hashes: Buffer.alloc(32), vectors: Float32Array.of(1) }), { code: 'MAIF_ERR_EMBEDDING' })
})

t.test('lint: embed-index is the last record transform; line sinks are warned', async (t) => {
  const src = (transforms: string, sink = '{ type: container, path: out.maif }'): string =>
    `source: { type: stdin, format: jsonl }\ntransforms:\n${transforms}\nsink: ${sink}\nsecurity: { requireEncryption: false }\n`
  const after = lintPipelineSource(src('  - type: embed-index\n  - type: validate-json\n  - type: frame'), 'a.yaml')
  t.ok(after.some((i) => i.rule === 'order/embed-index-last' && i.severity === 'error'), 'a record transform after it is an error')
  const ok = lintPipelineSource(src('  - type: validate-json\n  - type: embed-index\n    field: $.message\n    index: { type: hnsw, metric: cosine, m: 16, efConstruction: 64 }\n  - type: frame'), 'b.yaml')
  t.notOk(ok.some((i) => i.severity === 'error'), JSON.stringify(ok))
  const file = lintPipelineSource(src('  - type: embed-index', '{ type: file, path: out.jsonl }'), 'c.yaml')
  t.ok(file.some((i) => i.rule === 'embed-index/sink'))
  const badOpt = lintPipelineSource(src('  - type: embed-index\n    index: { type: ivf }'), 'd.yaml')
  t.ok(badOpt.some((i) => i.severity === 'error'), 'options are strict')
})
