// The Bedrock embedder over a real connection to moto's bedrock-runtime: the embedder sends signed
// InvokeModel requests that moto accepts (Titan and Cohere shapes), and moto 5.2.1 answers every InvokeModel
// with an empty JSON object `{}` (it has no way to set a model's result). So what this test can show against
// a server is the failure path: the empty answer is refused with MAIF_ERR_EMBEDDER_RESPONSE naming the model,
// never turned into a zero vector, through the embedder, embedderFor (client settings from `aws:` as every
// AWS component) and a pipeline run. The parsing of documented answers is tested in bedrock-response.test.ts.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BedrockRuntimeClient, InvokeModelCommand } from '@aws-sdk/client-bedrock-runtime'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import { startMoto } from './helpers/moto.js'
import { BedrockEmbedder } from '../src/core/semantic/bedrock.js'
import { embedderFor, embedderFromId } from '../src/core/semantic/embedder.js'
import { maif } from './helpers/cli.js'
import { generateKeyring } from '../src/core/format/keyring.js'

const moto = await startMoto(t)
Object.assign(process.env, moto.env)

t.test('moto accepts the signed InvokeModel; its empty answer is refused, naming the model', async (t) => {
  // A raw call first: what moto answers to a Titan request (the test's premise, checked, not assumed).
  const raw = new BedrockRuntimeClient({ ...moto.clientConfig, requestHandler: new NodeHttpHandler() })
  t.teardown(() => raw.destroy())
  const res = await raw.send(new InvokeModelCommand({ modelId: 'amazon.titan-embed-text-v2:0', contentType: 'application/json', accept: 'application/json', body: Buffer.from(JSON.stringify({ inputText: 'x', dimensions: 256, normalize: true })) }))
  t.equal(res.$metadata.httpStatusCode, 200, 'moto accepts the request')
  t.equal(Buffer.from(res.body).toString('utf8'), '{}', 'and answers an empty object')

  const titan = new BedrockEmbedder({ modelId: 'amazon.titan-embed-text-v2:0', dims: 256, aws: { region: 'us-east-1', endpoint: moto.endpoint } })
  t.teardown(() => titan.close())
  t.equal(titan.id, 'bedrock:amazon.titan-embed-text-v2:0:d=256')
  await t.rejects(titan.embed(['the database connection was refused', 'a second text']), { code: 'MAIF_ERR_EMBEDDER_RESPONSE', message: /Bedrock model amazon\.titan-embed-text-v2:0 answered without usable embeddings: no 'embedding' field \(got an empty object\)/ })

  const cohere = await embedderFor({ type: 'bedrock', modelId: 'cohere.embed-english-v3', aws: { endpoint: moto.endpoint }, region: 'us-east-1' })
  t.teardown(() => cohere.close?.())
  t.equal(cohere.dims, 1024)
  await t.rejects(cohere.embed(['query text'], 'query'), { code: 'MAIF_ERR_EMBEDDER_RESPONSE', message: /cohere\.embed-english-v3.*no 'embeddings' list/ })

  // Rebuilt from its id, as a search does, with the endpoint from the SDK's own variable.
  const again = await embedderFromId(titan.id)
  t.teardown(() => again.close?.())
  t.equal(again.id, titan.id)
  t.equal(again.dims, 256)
  await t.rejects(again.embed(['x'], 'query'), { code: 'MAIF_ERR_EMBEDDER_RESPONSE' })
})

t.test('a service error is MAIF_ERR_EMBEDDER_UNAVAILABLE with the service message', async (t) => {
  // Nothing listens on this port: the SDK's retries end in a connection error.
  const closed = new BedrockEmbedder({ modelId: 'amazon.titan-embed-text-v2:0', aws: { region: 'us-east-1', endpoint: 'http://127.0.0.1:9' } })
  t.teardown(() => closed.close())
  await t.rejects(closed.embed(['x']), { code: 'MAIF_ERR_EMBEDDER_UNAVAILABLE', message: /InvokeModel on amazon\.titan-embed-text-v2:0 failed/ })
})

t.test('a pipeline with a Bedrock embedder fails the run on the empty answer, naming the model', async (t) => {
  const dir = t.testdir()
  const env = { ...moto.env, MAIF_KEYRING: join(dir, 'keys') }
  await generateKeyring(env.MAIF_KEYRING)
  writeFileSync(join(dir, 'logs.jsonl'), '{"text":"the deploy failed"}\n{"text":"budget approved"}\n')
  writeFileSync(join(dir, 'pipeline.yaml'), `name: bedrock-index
source: { type: file, path: ${join(dir, 'logs.jsonl')}, format: jsonl }
transforms:
  - type: embed-index
    embedder: { type: bedrock, modelId: amazon.titan-embed-text-v2:0, aws: { region: us-east-1, endpoint: ${moto.endpoint} } }
    dims: 512
  - type: frame
  - type: encrypt
  - type: chain
  - type: sign
sink: { type: container, path: ${join(dir, 'out.maif')} }
`)
  const run = await maif(['run', join(dir, 'pipeline.yaml'), '--no-progress', '--log-level', 'warn'], { env })
  t.not(run.code, 0, 'the run fails')
  t.match(run.stderr, /MAIF_ERR_EMBEDDER_RESPONSE.*amazon\.titan-embed-text-v2:0/)
  const bad = await maif(['validate', join(dir, 'pipeline.yaml')], { env })
  t.equal(bad.code, 0, 'the definition itself is valid: ' + bad.stderr)
})
