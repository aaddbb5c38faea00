// maif search over an s3:// prefix: every *.maif object under it (listed through ListObjectsV2) is verified,
// its embeddings indexed (or its stored index loaded) and searched through ranged GETs, and the hits of all of
// them are merged by score, each naming its object. Against a real moto server.
import '../src/builtins.js'
import t from 'tap'
import { join } from 'node:path'
import { readFile, writeFile } from 'node:fs/promises'
import { S3Client, CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { startMoto } from './helpers/moto.js'
import { maif } from './helpers/cli.js'
import { freshKeyring } from './helpers/engine.js'
import { mulberry32 } from './helpers/clustered.js'
import { runPipeline } from '../src/core/runtime/engine.js'
import type { PipelineDefinition } from '../src/core/runtime/pipeline-schema.js'

interface Hits { hits: Array<{ file?: string; seq: number; record: number; score: number; text: string }>; indexed: number }

const WORDS = 'alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango'.split(' ')

/** `n` messages of common words, with `planted` messages of rare words at known places. */
function messages(n: number, seed: number, planted: Record<number, string>): string[] {
  const rnd = mulberry32(seed)
  return Array.from({ length: n }, (_, i) => planted[i] ?? Array.from({ length: 6 }, () => WORDS[Math.floor(rnd() * WORDS.length)]).join(' '))
}

async function pack(dir: string, name: string, keys: string, msgs: string[]): Promise<Buffer> {
  const input = join(dir, `${name}.jsonl`)
  const out = join(dir, `${name}.maif`)
  await writeFile(input, msgs.map((m) => JSON.stringify({ message: m })).join('\n') + '\n')
  const def = {
    name: 's3-search', source: { type: 'file', path: input, format: 'jsonl' },
    transforms: [{ type: 'embed-index', field: 'message', dims: 256 }, { type: 'frame', blockRecords: 100 }, { type: 'encrypt', keyring: keys }, { type: 'chain' }, { type: 'sign' }],
    sink: { type: 'container', path: out },
  } as PipelineDefinition
  t.equal((await runPipeline(def, { cwd: dir })).status, 'completed')
  return readFile(out)
}

t.test('search every container under an s3:// prefix', async (t) => {
  const moto = await startMoto(t)
  const s3 = new S3Client({ ...moto.clientConfig, forcePathStyle: true })
  t.teardown(() => s3.destroy())
  const dir = t.testdir()
  const keys = await freshKeyring(dir)
  await s3.send(new CreateBucketCommand({ Bucket: 'memory' }))
  const put = async (key: string, body: Buffer | string): Promise<void> => { await s3.send(new PutObjectCommand({ Bucket: 'memory', Key: key, Body: body })) }
  await put('agents/a/day1.maif', await pack(dir, 'a', keys.dir, messages(300, 1, { 17: 'zebra migration across the savanna river' })))
  await put('agents/b/day1.maif', await pack(dir, 'b', keys.dir, messages(300, 2, { 250: 'volcanic eruption ash cloud grounded flights' })))
  await put('agents/b/day2.maif', await pack(dir, 'c', keys.dir, messages(200, 3, { 5: 'quantum entanglement photon experiment results' })))
  await put('agents/notes.txt', 'not a container')
  await put('elsewhere/x.maif', 'outside the prefix')
  const env = { ...moto.env, MAIF_KEYRING: keys.dir }

  const cases: Array<[string, string, string]> = [
    ['zebra savanna migration', 's3://memory/agents/a/day1.maif', 'zebra migration across the savanna river'],
    ['volcanic ash flights', 's3://memory/agents/b/day1.maif', 'volcanic eruption ash cloud grounded flights'],
    ['photon entanglement experiment', 's3://memory/agents/b/day2.maif', 'quantum entanglement photon experiment results'],
  ]
  for (const [query, file, message] of cases) {
    const r = await maif(['search', 's3://memory/agents/', query, '-k', '3', '--json'], { env })
    t.equal(r.code, 0, r.stderr)
    const res = JSON.parse(r.stdout) as Hits
    t.equal(res.indexed, 800, 'the embeddings of all three containers are searched')
    t.equal(res.hits.length, 3)
    t.equal(res.hits[0]!.file, file, `'${query}' is answered from ${file}`)
    t.equal((JSON.parse(res.hits[0]!.text) as { message: string }).message, message)
    t.ok(res.hits[0]!.score > res.hits[1]!.score, 'hits are merged by score')
  }

  const lines = await maif(['search', 's3://memory/agents/b/', 'volcanic ash flights', '-k', '1'], { env })
  t.equal(lines.code, 0, lines.stderr)
  t.match(lines.stdout, /^\d\.\d{4} {2}s3:\/\/memory\/agents\/b\/day1\.maif:#\d+:\d+ {2}\{"message":"volcanic/, 'a line names the object')

  const one = await maif(['search', 's3://memory/agents/b/day2.maif', 'photon entanglement experiment', '-k', '1', '--json'], { env })
  t.equal(one.code, 0, one.stderr)
  t.match(JSON.parse(one.stdout), { indexed: 200, hits: [{ text: /quantum entanglement/ }] }, 'one s3:// object is searched on its own')

  const empty = await maif(['search', 's3://memory/nothing/', 'zebra'], { env })
  t.equal(empty.code, 2)
  t.match(empty.stderr, /MAIF_ERR_SEARCH.*no containers/)
})
