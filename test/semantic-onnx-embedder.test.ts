// The ONNX embedder through its real loading code (transformers.js over onnxruntime-node, the WordPiece
// tokenizer) on a tiny BERT-shaped model this test writes (test/helpers/tiny-onnx-model.ts): dimensions,
// unit length, lexical similarity from the model's word vectors, determinism, batching, the id pinning the
// model's hash, and missing files failing closed with an actionable message.
import t from 'tap'
import { mkdtemp, rm, writeFile, unlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { OnnxEmbedder, parseOnnxId } from '../src/core/semantic/onnx.js'
import { embedderFor, embedderFromId } from '../src/core/semantic/embedder.js'
import { tinyOnnxModel, writeTinyOnnxModel } from './helpers/tiny-onnx-model.js'
import { createHash } from 'node:crypto'

const cos = (a: Float32Array, b: Float32Array): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}

const root = await mkdtemp(join(tmpdir(), 'maif-onnx-'))
t.teardown(() => rm(root, { recursive: true, force: true }))
const dir = join(root, 'tiny-bert')
const onnxFile = await writeTinyOnnxModel(dir, { dims: 16 })
const e = await OnnxEmbedder.load({ model: dir })
t.teardown(() => e.close())

t.test('dimensions, unit length and the id that pins the model', async (t) => {
  t.equal(e.dims, 16, 'the dimensions come from the model output')
  const v = await e.embed(['the database connection was refused'])
  t.equal(v.length, 16)
  let n = 0
  for (const x of v) n += x * x
  t.ok(Math.abs(Math.sqrt(n) - 1) < 1e-5, `unit length (${Math.sqrt(n)})`)
  const hash = createHash('sha256').update(tinyOnnxModel(16)).digest('hex')
  t.match(e.id, new RegExp(`^onnx:tiny-bert:sha256=${hash}:tok=[0-9a-f]{16}:d=16:pool=mean$`), 'the id holds the sha256 of model.onnx')
  t.strictSame(parseOnnxId(e.id), { name: 'tiny-bert', sha256: hash, tokenizer: e.pinned.tokenizer, dims: 16, pooling: 'mean' })
})
