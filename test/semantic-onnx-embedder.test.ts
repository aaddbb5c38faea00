// The ONNX embedder through its real loading code (transformers.js over onnxruntime-node, the WordPiece
// tokenizer) on a tiny BERT-shaped model this test writes (test/helpers/tiny-onnx-model.ts): dimensions,
// unit length, lexical similarity from the model's word vectors, determinism, batching, the id pinning the
// model's hash, and missing or broken files failing closed with an actionable message.
import t from 'tap'
import { cp, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { OnnxEmbedder, parseOnnxId } from '../src/core/semantic/onnx.js'
import { embedderFor, embedderFromId } from '../src/core/semantic/embedder.js'
import { tinyOnnxModel, tinyTokenizerJson, writeTinyOnnxModel } from './helpers/tiny-onnx-model.js'

const cos = (a: Float32Array, b: Float32Array): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}

const root = await mkdtemp(join(tmpdir(), 'maif-onnx-'))
t.teardown(() => rm(root, { recursive: true, force: true }))
const dir = join(root, 'tiny-bert')
await writeTinyOnnxModel(dir, { dims: 16 })
const e = await OnnxEmbedder.load({ model: dir })
t.teardown(() => e.close())

t.test('dimensions, unit length and the id that pins the model', async (t) => {
  t.equal(e.dims, 16, 'the dimensions come from the model output')
  t.equal(e.normalized, true)
  const v = await e.embed(['the database connection was refused'])
  t.equal(v.length, 16)
  let n = 0
  for (const x of v) n += x * x
  t.ok(Math.abs(Math.sqrt(n) - 1) < 1e-5, `unit length (${Math.sqrt(n)})`)
  const hash = createHash('sha256').update(tinyOnnxModel(16)).digest('hex')
  const tok = createHash('sha256').update(JSON.stringify(tinyTokenizerJson())).digest('hex').slice(0, 16)
  t.equal(e.id, `onnx:tiny-bert:sha256=${hash}:tok=${tok}:d=16:pool=mean`, 'the id holds the sha256 of model.onnx and of tokenizer.json')
  t.strictSame(parseOnnxId(e.id), { name: 'tiny-bert', sha256: hash, tokenizer: tok, dims: 16, pooling: 'mean' })
  t.equal(parseOnnxId('maif-hashing-v1:d=384,w=2,c=3-5'), null)
})

t.test('texts that share words score higher than unrelated texts', async (t) => {
  const [q, near, far, other] = await Promise.all(['database connection refused on port', 'the database connection was refused', 'quarterly marketing budget approved by finance', 'sunny weather forecast for the garden'].map(async (s) => e.embed([s])))
  t.ok(cos(q!, near!) > cos(q!, far!) + 0.1, `shared words ${cos(q!, near!).toFixed(3)} > unrelated ${cos(q!, far!).toFixed(3)}`)
  t.ok(cos(q!, near!) > cos(q!, other!) + 0.1, `shared words ${cos(q!, near!).toFixed(3)} > unrelated ${cos(q!, other!).toFixed(3)}`)
  const same = await e.embed(['DATABASE Connection refused on port'])
  t.ok(cos(q!, same) > 0.9999, 'the tokenizer lower-cases (do_lower_case)')
})

t.test('deterministic; a batch equals the texts one by one (padding is masked out of the mean)', async (t) => {
  const texts = ['user login failed', 'the password reset token expired on the server', 'cat', 'deploy of the service failed with a timeout error', 'flowers in the garden']
  const batched = await OnnxEmbedder.load({ model: dir, batchSize: 2, concurrency: 2 })
  t.teardown(() => batched.close())
  const all = await batched.embed(texts)
  t.equal(all.length, texts.length * 16)
  for (let i = 0; i < texts.length; i++) {
    const one = await e.embed([texts[i]!])
    const row = all.subarray(i * 16, (i + 1) * 16)
    t.ok(row.every((x, j) => Math.abs(x - one[j]!) < 1e-5), `text ${i} embeds alike alone and in a padded batch`)
  }
  t.strictSame([...(await e.embed(texts))], [...(await e.embed(texts))], 'the same texts give the same vectors')
  t.equal((await e.embed([])).length, 0)
})

t.test('embedderFor and embedderFromId load the model; another directory name is the same model', async (t) => {
  const viaConfig = await embedderFor({ type: 'onnx', model: dir })
  t.teardown(() => viaConfig.close?.())
  t.equal(viaConfig.id, e.id)
  const copy = join(root, 'elsewhere')
  await cp(dir, copy, { recursive: true })
  const again = await embedderFromId(e.id, { modelDir: copy })
  t.teardown(() => again.close?.())
  t.equal(again.id, e.id, 'a copy under another name rebuilds the exact id')
  t.strictSame([...(await again.embed(['user login failed'], 'query'))], [...(await e.embed(['user login failed']))])
  const flat = join(root, 'flat')
  await writeTinyOnnxModel(flat, { dims: 16, flat: true })
  const f = await embedderFromId(e.id, { modelDir: flat })
  t.teardown(() => f.close?.())
  t.equal(f.dims, 16, 'model.onnx at the top of the directory loads too')
  await t.rejects(embedderFor({ type: 'onnx', model: dir }, 384), { code: 'MAIF_ERR_INVALID_OPTION', message: /makes 16-dimensional embeddings, but 384 were asked for/ })
})

t.test('a query embedder from a different model is refused', async (t) => {
  await t.rejects(embedderFromId(e.id), { code: 'MAIF_ERR_EMBEDDER_UNAVAILABLE', message: /ONNX model 'tiny-bert'.*--model-dir DIR/ })
  const retrained = join(root, 'retrained')
  await writeTinyOnnxModel(retrained, { dims: 16, seed: 99 })
  await t.rejects(embedderFromId(e.id, { modelDir: retrained }), { code: 'MAIF_ERR_EMBEDDER_MISMATCH', message: /model\.onnx has sha256 [0-9a-f]{64}, the embeddings' model [0-9a-f]{64}/ })
  const retok = join(root, 'retokenized')
  await cp(dir, retok, { recursive: true })
  const tj = tinyTokenizerJson() as { model: { vocab: Record<string, number> } }
  const v = tj.model.vocab
  ;[v.database, v.budget] = [v.budget!, v.database!] // the same words, other vectors
  await writeFile(join(retok, 'tokenizer.json'), JSON.stringify(tj))
  await t.rejects(embedderFromId(e.id, { modelDir: retok }), { code: 'MAIF_ERR_EMBEDDER_MISMATCH', message: /tokenizer\.json differs/ })
  const wider = join(root, 'wider')
  await writeTinyOnnxModel(wider, { dims: 24 })
  await t.rejects(embedderFromId(e.id, { modelDir: wider }), { code: 'MAIF_ERR_EMBEDDER_MISMATCH' })
})

t.test('missing files fail closed before anything loads, naming them', async (t) => {
  await t.rejects(OnnxEmbedder.load({ model: join(root, 'nowhere') }), { code: 'MAIF_ERR_EMBEDDER_UNAVAILABLE', message: /nowhere does not exist: maif never downloads a model/ })
  const partial = join(root, 'partial')
  await writeTinyOnnxModel(partial)
  await unlink(join(partial, 'tokenizer.json'))
  await unlink(join(partial, 'onnx', 'model.onnx'))
  await t.rejects(OnnxEmbedder.load({ model: partial }), { code: 'MAIF_ERR_EMBEDDER_UNAVAILABLE', message: /is missing tokenizer\.json, onnx\/model\.onnx \(or model\.onnx\)/ })
})

t.test('a file that is not an ONNX model, and a model that outputs NaN, are errors', async (t) => {
  const garbage = join(root, 'garbage')
  await writeTinyOnnxModel(garbage)
  await writeFile(join(garbage, 'onnx', 'model.onnx'), Buffer.from('this is not a protobuf model'))
  await t.rejects(OnnxEmbedder.load({ model: garbage }), { code: 'MAIF_ERR_EMBEDDER_UNAVAILABLE', message: /did not load/ })
  const broken = join(root, 'broken')
  await writeTinyOnnxModel(broken, { nanWord: 'cat' })
  const b = await OnnxEmbedder.load({ model: broken })
  t.teardown(() => b.close())
  t.equal((await b.embed(['dog'])).length, 16, 'texts without the broken word embed')
  await t.rejects(b.embed(['dog', 'the cat']), { code: 'MAIF_ERR_EMBEDDER_RESPONSE', message: /non-finite value for text 1/ })
})
