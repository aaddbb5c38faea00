// The Bedrock embedder's request bodies and its parser of InvokeModel answers, on the documented shapes
// (Amazon Titan Text Embeddings v2/v1: { embedding: number[] }; Cohere Embed v3/v4: { embeddings:
// number[][] } or { embeddings: { float: number[][] } }): rows come back L2-normalised in text order, and
// every malformed answer (no embedding, wrong count or length, a non-number, NaN, a zero vector, not JSON)
// is MAIF_ERR_EMBEDDER_RESPONSE naming the model. The ids, families and option checks too.
import t from 'tap'
import { bedrockFamily, bedrockRequest, BedrockEmbedder, parseBedrockId, parseBedrockResponse } from '../src/core/semantic/bedrock.js'

const json = (o: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(o))
const norm = (v: ArrayLike<number>): number => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0))

t.test('Titan: one embedding per answer, normalised', async (t) => {
  const v = parseBedrockResponse('titan-v2', 'amazon.titan-embed-text-v2:0', json({ embedding: [3, 4, 0, 0], inputTextTokenCount: 5 }), 1, 4)
  t.strictSame([...v], [...Float32Array.of(0.6, 0.8, 0, 0)], 'scaled to unit length')
  const v1 = parseBedrockResponse('titan-v1', 'amazon.titan-embed-text-v1', '{"embedding":[1,1],"inputTextTokenCount":2}', 1, 2)
  t.ok(Math.abs(norm(v1) - 1) < 1e-6)
  t.strictSame(bedrockRequest('titan-v2', ['hello'], 512, 'document'), { inputText: 'hello', dimensions: 512, normalize: true })
  t.strictSame(bedrockRequest('titan-v1', ['hello'], 1536, 'query'), { inputText: 'hello' })
})

t.test('Cohere: several embeddings per answer, in order, both documented shapes', async (t) => {
  const plain = parseBedrockResponse('cohere-v3', 'cohere.embed-english-v3', json({ id: 'x', texts: ['a', 'b'], embeddings: [[1, 0, 0], [0, 2, 0]], response_type: 'embeddings_floats' }), 2, 3)
  t.strictSame([...plain], [1, 0, 0, 0, 1, 0])
  const typed = parseBedrockResponse('cohere-v4', 'cohere.embed-v4:0', json({ id: 'x', embeddings: { float: [[0, 0, 5], [2, 0, 0]] }, response_type: 'embeddings_by_type' }), 2, 3)
  t.strictSame([...typed], [0, 0, 1, 1, 0, 0])
  t.match(bedrockRequest('cohere-v3', ['a', 'b'], 1024, 'document'), { texts: ['a', 'b'], input_type: 'search_document', embedding_types: ['float'] })
  t.match(bedrockRequest('cohere-v3', ['q'], 1024, 'query'), { input_type: 'search_query' }, 'a query is embedded as a query')
  t.notOk('output_dimension' in bedrockRequest('cohere-v3', ['q'], 1024, 'query'))
  t.match(bedrockRequest('cohere-v4', ['q'], 512, 'query'), { output_dimension: 512 })
})

t.test('malformed answers are refused, never zero-filled', async (t) => {
  const bad = (family: Parameters<typeof parseBedrockResponse>[0], body: string | Uint8Array, count: number, dims: number, why: RegExp): void => {
    t.throws(() => parseBedrockResponse(family, 'model-x', body, count, dims), { code: 'MAIF_ERR_EMBEDDER_RESPONSE', message: new RegExp(`^Bedrock model model-x answered without usable embeddings: ${why.source}`) }, why.source)
  }
  bad('titan-v2', '{}', 1, 2, /no 'embedding' field \(got an empty object\)/)
  bad('titan-v2', json({ message: 'throttled' }), 1, 2, /no 'embedding' field \(got fields message\)/)
  bad('titan-v2', 'not json', 1, 2, /the body is not JSON/)
  bad('titan-v2', '[1,2]', 1, 2, /the body is not a JSON object/)
  bad('titan-v2', json({ embedding: [1, 2, 3] }), 1, 2, /embedding 0 has 3 values, 2 were expected/)
  bad('titan-v2', json({ embedding: null }), 1, 2, /embedding 0 is not a list of numbers/)
  bad('titan-v2', json({ embedding: [1, '2'] }), 1, 2, /embedding 0 has a non-finite or non-numeric value at 1/)
  bad('titan-v2', '{"embedding":[1,1e999]}', 1, 2, /embedding 0 has a non-finite or non-numeric value at 1/)
  bad('titan-v2', json({ embedding: [0, 0] }), 1, 2, /embedding 0 is all zeros/)
  bad('cohere-v3', json({ embeddings: [[1, 0]] }), 2, 2, /1 embeddings for 2 texts/)
  bad('cohere-v3', json({ embeddings: { int8: [[1, 0]] } }), 1, 2, /no 'embeddings' list/)
  bad('cohere-v3', json({ embeddings: [[1, 0], [0, Number.NaN]] }), 2, 2, /embedding 1 has a non-finite or non-numeric value at 1/)
})

t.test('ids, families and options', async (t) => {
  t.equal(bedrockFamily('amazon.titan-embed-text-v2:0'), 'titan-v2')
  t.equal(bedrockFamily('arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v1'), 'titan-v1')
  t.equal(bedrockFamily('us.cohere.embed-v4:0'), 'cohere-v4')
  t.equal(bedrockFamily('cohere.embed-multilingual-v3'), 'cohere-v3')
  t.equal(bedrockFamily('anthropic.claude-3-haiku-20240307-v1:0'), null)
  t.strictSame(parseBedrockId('bedrock:amazon.titan-embed-text-v2:0:d=512'), { modelId: 'amazon.titan-embed-text-v2:0', dims: 512 })
  t.equal(parseBedrockId('maif-hashing-v1:d=384,w=2,c=3-5'), null)
  const e = new BedrockEmbedder({ modelId: 'amazon.titan-embed-text-v2:0', aws: { region: 'us-east-1' } })
  t.teardown(() => e.close())
  t.equal(e.id, 'bedrock:amazon.titan-embed-text-v2:0:d=1024', 'Titan v2 defaults to 1024 dimensions')
  t.throws(() => new BedrockEmbedder({ modelId: 'amazon.titan-embed-text-v2:0', dims: 384 }), { code: 'MAIF_ERR_INVALID_OPTION', message: /256, 512, 1024 dimensions, not 384/ })
  t.throws(() => new BedrockEmbedder({ modelId: 'cohere.embed-english-v3', dims: 512 }), { code: 'MAIF_ERR_INVALID_OPTION', message: /makes 1024 dimensions, not 512/ })
  t.throws(() => new BedrockEmbedder({ modelId: 'meta.llama3-8b-instruct-v1:0' }), { code: 'MAIF_ERR_INVALID_OPTION', message: /Titan.*Cohere/ })
  t.throws(() => new BedrockEmbedder({ modelId: 'amazon.titan-embed-text-v2:0', concurrency: 0 }), { code: 'MAIF_ERR_INVALID_OPTION' })
})
