// The default local embedder: deterministic, L2-normalised, lexically meaningful (shared words, word pairs
// and word fragments raise the cosine), batched calls equal single calls, and its id names its parameters.
import t from 'tap'
import { HashingEmbedder, parseHashingId } from '../src/core/semantic/hashing.js'
import { embedderFor, embedderFromId } from '../src/core/semantic/embedder.js'

const cos = (a: Float32Array, b: Float32Array): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}
const e = new HashingEmbedder()
const one = async (text: string, emb = e): Promise<Float32Array> => emb.embed([text])

t.test('deterministic and normalised', async (t) => {
  const a = await one('The deploy of service api-gateway failed with exit code 137')
  const b = await new HashingEmbedder().embed(['The deploy of service api-gateway failed with exit code 137'])
  t.strictSame([...a], [...b], 'two embedders with the same options give the same vector')
  let norm = 0
  for (const x of a) norm += x * x
  t.ok(Math.abs(Math.sqrt(norm) - 1) < 1e-5, `unit length (${Math.sqrt(norm)})`)
  t.equal(a.length, 384)
  t.ok(a.some((x) => x < 0) && a.some((x) => x > 0), 'signed hashing gives both signs')
})

t.test('lexical similarity orders texts sensibly', async (t) => {
  const q = await one('database connection refused on port 5432')
  const near = await one('connection to the database was refused (port 5432)')
  const stem = await one('refusing database connections')
  const far = await one('the quarterly marketing budget was approved by finance')
  t.ok(cos(q, near) > 0.5, `shared words: ${cos(q, near).toFixed(3)}`)
  t.ok(cos(q, stem) > cos(q, far) + 0.15, `word fragments (${cos(q, stem).toFixed(3)}) beat an unrelated text (${cos(q, far).toFixed(3)})`)
  t.ok(cos(q, near) > cos(q, stem), 'more shared words, higher score')
  t.ok(Math.abs(cos(q, far)) < 0.2, 'unrelated texts are near orthogonal')
  const wordsOnly = new HashingEmbedder({ charNgrams: [0, 0] })
  t.ok(cos(await one('refused', wordsOnly), await one('refusing', wordsOnly)) < 0.2, 'without character n-grams different word forms do not match')
  t.equal(cos(await one('Refused CONNECTION'), await one('refused connection')), cos(await one('refused connection'), await one('refused connection')), 'case does not matter')
})

t.test('batched calls equal single calls; empty texts embed as zeros', async (t) => {
  const texts = ['alpha beta', '', 'gamma delta epsilon', '!!! ???', 'alpha']
  const all = await e.embed(texts)
  for (let i = 0; i < texts.length; i++) t.strictSame([...all.subarray(i * 384, (i + 1) * 384)], [...(await one(texts[i]!))], `text ${i}`)
  t.ok(all.subarray(384, 768).every((x) => x === 0), 'an empty text is all zeros')
  t.notOk(e.embedInto('!!! ???', new Float32Array(384)), 'punctuation has no features')
})

t.test('ids name the parameters and rebuild the same embedder', async (t) => {
  const custom = new HashingEmbedder({ dims: 64, wordNgrams: 1, charNgrams: [2, 4] })
  t.equal(custom.id, 'maif-hashing-v1:d=64,w=1,c=2-4')
  t.strictSame(parseHashingId(custom.id), { dims: 64, wordNgrams: 1, charNgrams: [2, 4] })
  const again = await embedderFromId(custom.id)
  t.strictSame([...(await again.embed(['same text']))], [...(await custom.embed(['same text']))])
  t.not(new HashingEmbedder({ dims: 64 }).id, custom.id, 'other parameters, another id')
  t.equal(parseHashingId('sentence-transformers/all-MiniLM-L6-v2'), null)
  await t.rejects(embedderFromId('sentence-transformers/all-MiniLM-L6-v2'), { code: 'MAIF_ERR_EMBEDDER_UNAVAILABLE' })
})

t.test('bad options and unavailable embedders fail clearly', async (t) => {
  t.throws(() => new HashingEmbedder({ dims: 1 }), { code: 'MAIF_ERR_INVALID_OPTION' })
  t.throws(() => new HashingEmbedder({ charNgrams: [5, 3] }), { code: 'MAIF_ERR_INVALID_OPTION' })
  t.throws(() => new HashingEmbedder({ wordNgrams: 0, charNgrams: [0, 0] }), { code: 'MAIF_ERR_INVALID_OPTION' })
  await t.rejects(embedderFor({ type: 'onnx', model: '/models/minilm' }), { code: 'MAIF_ERR_EMBEDDER_UNAVAILABLE', message: /\/models\/minilm does not exist/ })
  await t.rejects(embedderFor({ type: 'bedrock', modelId: 'amazon.nova-pro-v1:0' }), { code: 'MAIF_ERR_INVALID_OPTION', message: /Titan|Cohere/ })
  t.equal((await embedderFor({ type: 'hashing' }, 128)).dims, 128)
})
