// The ONNX embedder end to end through the CLI: a pipeline whose `embed-index` names
// `embedder: { type: onnx, model: DIR }` (a tiny BERT-shaped model this test writes) stores EMBD blocks of
// that model's id, and `maif search --model-dir DIR` embeds the query with it and finds the right record.
// Without the directory, or with another model's, the search is refused with an actionable error.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { maif } from './helpers/cli.js'
import { writeTinyOnnxModel } from './helpers/tiny-onnx-model.js'
import { OnnxEmbedder } from '../src/core/semantic/onnx.js'
import { generateKeyring, loadKeyring } from '../src/core/format/keyring.js'
import { searchContainer } from '../src/core/semantic/search.js'
import { HashingEmbedder } from '../src/core/semantic/hashing.js'

interface Hits { hits: Array<{ seq: number; record: number; score: number; text: string }>; indexed: number; model: string; metric: string }

const RECORDS = [
  'the database connection was refused on port',
  'quarterly marketing budget approved by finance',
  'sunny weather forecast for the garden',
  'user login failed and the password reset token expired',
  'deploy of the service failed with a timeout error',
  'the cat and the dog in the garden',
  'server error on the database port',
  'a meeting of finance on the budget',
]

t.test('embed-index with an ONNX model, then maif search --model-dir', async (t) => {
  const dir = t.testdir()
  const env = { MAIF_KEYRING: join(dir, 'keys') }
  await generateKeyring(env.MAIF_KEYRING)
  const model = join(dir, 'tiny-bert')
  await writeTinyOnnxModel(model, { dims: 64 })
  writeFileSync(join(dir, 'logs.jsonl'), RECORDS.map((text, i) => JSON.stringify({ id: i, text })).join('\n') + '\n')
  const out = join(dir, 'memory.maif')
  writeFileSync(join(dir, 'pipeline.yaml'), `name: onnx-index
source: { type: file, path: ${join(dir, 'logs.jsonl')}, format: jsonl }
transforms:
  - type: embed-index
    field: text
    embedder: { type: onnx, model: ${model}, batchSize: 3 }
    index: { type: hnsw, metric: cosine }
  - type: frame
    blockType: JSON
  - type: encrypt
  - type: chain
  - type: sign
sink: { type: container, path: ${out} }
`)
  const validate = await maif(['validate', join(dir, 'pipeline.yaml')], { env })
  t.equal(validate.code, 0, validate.stderr + validate.stdout)
  const run = await maif(['run', join(dir, 'pipeline.yaml'), '--no-progress', '--log-level', 'warn'], { env })
  t.equal(run.code, 0, run.stderr)

  const e = await OnnxEmbedder.load({ model })
  t.teardown(() => e.close())
  const checked = await maif(['verify', out, '--embeddings', '--json'], { env })
  t.equal(checked.code, 0, checked.stderr)
  t.match(JSON.parse(checked.stdout), { ok: true, embeddings: { ok: true, embeddings: RECORDS.length } }, 'the EMBD blocks match their records')

  const r = await maif(['search', out, 'budget approved by finance', '--model-dir', model, '-k', '3', '--json'], { env })
  t.equal(r.code, 0, r.stderr)
  const res = JSON.parse(r.stdout) as Hits
  t.equal(res.model, e.id)
  t.equal(res.indexed, RECORDS.length)
  t.equal((JSON.parse(res.hits[0]!.text) as { id: number }).id, 1, 'the record with the query\'s words comes first')
  const q = await e.embed(['budget approved by finance'])
  const d = await e.embed([RECORDS[1]!])
  let cos = 0
  for (let i = 0; i < 64; i++) cos += q[i]! * d[i]!
  t.ok(Math.abs(res.hits[0]!.score - cos) < 1e-4, `its score is the model's cosine (${res.hits[0]!.score} vs ${cos})`)
  // Another query: the hit is the record an exact scan under the same model ranks first.
  const q2 = await e.embed(['dog cat garden'])
  const all = await e.embed(RECORDS)
  const score = (i: number): number => { let c = 0; for (let j = 0; j < 64; j++) c += all[i * 64 + j]! * q2[j]!; return c }
  let best = 0
  for (let i = 1; i < RECORDS.length; i++) if (score(i) > score(best)) best = i
  const r2 = await maif(['search', out, 'dog cat garden', '--model-dir', model, '-k', '1', '--json'], { env })
  t.equal((JSON.parse((JSON.parse(r2.stdout) as Hits).hits[0]!.text) as { id: number }).id, best, `the exact scan's nearest record (${best}) comes first`)

  // The API: a query embedder given by the caller is used (and not closed); one of another model is refused.
  const keyring = await loadKeyring(env.MAIF_KEYRING)
  const api = await searchContainer(out, 'budget approved by finance', { keyProvider: keyring, embedder: e, k: 1 })
  t.equal((JSON.parse(api.hits[0]!.text) as { id: number }).id, 1)
  t.equal((await e.embed(['still open'])).length, 64, 'the given embedder is still usable after the search')
  await t.rejects(searchContainer(out, 'budget', { keyProvider: keyring, embedder: new HashingEmbedder({ dims: 64 }) }), { code: 'MAIF_ERR_EMBEDDER_MISMATCH', message: /was embedded by 'onnx:tiny-bert:.*the query embedder is 'maif-hashing-v1/ })

  const noDir = await maif(['search', out, 'budget'], { env })
  t.equal(noDir.code, 2)
  t.match(noDir.stderr, /MAIF_ERR_EMBEDDER_UNAVAILABLE.*tiny-bert.*--model-dir DIR/)
  const other = join(dir, 'other-model')
  await writeTinyOnnxModel(other, { dims: 64, seed: 5 })
  const wrong = await maif(['search', out, 'budget', '--model-dir', other], { env })
  t.equal(wrong.code, 2)
  t.match(wrong.stderr, /MAIF_ERR_EMBEDDER_MISMATCH.*model\.onnx has sha256/)
})

t.test('a pipeline naming a missing model directory fails before it reads a record', async (t) => {
  const dir = t.testdir()
  const env = { MAIF_KEYRING: join(dir, 'keys') }
  await generateKeyring(env.MAIF_KEYRING)
  writeFileSync(join(dir, 'logs.jsonl'), '{"text":"x"}\n')
  writeFileSync(join(dir, 'pipeline.yaml'), `name: onnx-missing
source: { type: file, path: ${join(dir, 'logs.jsonl')}, format: jsonl }
transforms:
  - type: embed-index
    embedder: { type: onnx, model: ${join(dir, 'no-model')} }
  - type: frame
  - type: encrypt
sink: { type: container, path: ${join(dir, 'out.maif')} }
`)
  const validate = await maif(['validate', join(dir, 'pipeline.yaml')], { env })
  t.not(validate.code, 0)
  t.match(validate.stderr + validate.stdout, /no-model does not exist: maif never downloads a model/)
  const run = await maif(['run', join(dir, 'pipeline.yaml'), '--no-progress', '--log-level', 'warn'], { env })
  t.equal(run.code, 2)
  t.match(run.stderr, /MAIF_ERR_EMBEDDER_UNAVAILABLE/)
})
