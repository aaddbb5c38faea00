// The vector index stored in the container (XVIX, written by SemanticIndex.store / maif index): a later open
// loads it instead of building the graph, gives the same hits, extends it with embeddings appended after it,
// and refuses one whose id map does not match the embeddings before it (MAIF_ERR_INDEX_STALE).
import '../src/builtins.js'
import t from 'tap'
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { runPipeline } from '../src/core/runtime/engine.js'
import type { PipelineDefinition } from '../src/core/runtime/pipeline-schema.js'
import { SemanticIndex, searchContainer } from '../src/core/semantic/search.js'
import { VectorIndex } from '../src/core/semantic/vector-index.js'
import { indexBlockStream, INDEX_BLOCK_TYPE } from '../src/core/semantic/stored-index.js'
import { writeContainer } from '../src/core/container/writer.js'
import { freshKeyring, readContainer } from './helpers/engine.js'
import { mulberry32 } from './helpers/clustered.js'
import { maif } from './helpers/cli.js'

const WORDS = 'alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu'.split(' ')
function messages(n: number, seed: number): string[] {
  const rnd = mulberry32(seed)
  return Array.from({ length: n }, (_, i) => `${Array.from({ length: 5 }, () => WORDS[Math.floor(rnd() * WORDS.length)]).join(' ')} ${i}`)
}

async function pack(dir: string, name: string, out: string, keys: string, msgs: string[]): Promise<void> {
  const input = join(dir, name)
  writeFileSync(input, msgs.map((m) => JSON.stringify({ message: m })).join('\n') + '\n')
  const def = {
    name: 'stored-index', source: { type: 'file', path: input, format: 'jsonl' },
    transforms: [{ type: 'embed-index', field: 'message', dims: 256 }, { type: 'frame', blockRecords: 500 }, { type: 'encrypt', keyring: keys }, { type: 'chain' }, { type: 'sign' }],
    // The sink's own end-of-run index is left out: these tests store and extend it by hand.
    sink: { type: 'container', path: out, storeIndex: false },
  } as PipelineDefinition
  t.equal((await runPipeline(def, { cwd: dir })).status, 'completed')
}

t.test('store, load, extend', async (t) => {
  const dir = t.testdir()
  const keys = await freshKeyring(dir)
  const out = join(dir, 'c.maif')
  const first = messages(1500, 1)
  await pack(dir, 'a.jsonl', out, keys.dir, first)
  const opts = { keyProvider: keys.keyring, pinned: [keys.keyring.signer.publicKey] }

  const built = await SemanticIndex.open(out, opts)
  t.equal(built.storedFrom, undefined, 'nothing stored yet: built')
  // The loaded index is the graph stored here, so it must find exactly what this one finds. An index built again is
  // another HNSW graph (built on several threads): its approximate hits may differ, and under CI's load one missed
  // this graph's second-best hit. So this one's hits, taken before the store changes the container, are the
  // reference.
  const queries = ['alpha bravo charlie', 'zulu yankee xray 42', first[777]!]
  const hits = async (ix: SemanticIndex, q: string): Promise<number[][]> => (await ix.search(q, 5)).map((h) => [h.seq, h.record])
  const before = await Promise.all(queries.map((q) => hits(built, q)))
  const stored = await built.store({ keyProvider: keys.keyring, signer: keys.keyring.signer })
  t.equal(stored.embeddings, 1500)
  t.ok(stored.indexBytes > 1 << 20, `the index (${stored.indexBytes} bytes) spans several boxes`)
  const back = await readContainer(out, keys.keyring)
  t.equal(back.result.ok, true, 'the container still verifies')
  const xvix = back.blocks.filter((b) => b.type === INDEX_BLOCK_TYPE)
  t.ok(xvix.length >= 2, `stored as ${xvix.length} XVIX boxes`)
  t.equal(back.result.sessions, 2, 'in a session of its own')

  const loaded = await SemanticIndex.open(out, opts)
  t.equal(loaded.storedFrom, xvix[0]!.seq, 'the stored index is loaded')
  t.equal(loaded.size, 1500)
  const rebuilt = await SemanticIndex.open(out, { ...opts, storedIndex: false })
  t.equal(rebuilt.storedFrom, undefined)
  for (const [i, q] of queries.entries()) t.strictSame(await hits(loaded, q), before[i], `the same hits as the stored graph for '${q}'`)
  t.strictSame((await hits(rebuilt, queries[2]!))[0], before[2]![0], 'a graph built again finds the record itself first too')
  t.equal(JSON.parse((await loaded.search(first[777]!, 1))[0]!.text).message, first[777], 'a record is its own nearest')

  // Appended embeddings extend the loaded index.
  await pack(dir, 'b.jsonl', out, keys.dir, ['kilo lima mike appended later'])
  const extended = await searchContainer(out, 'kilo lima mike appended later', { ...opts, k: 1 })
  t.equal(extended.storedIndex, xvix[0]!.seq)
  t.equal(extended.indexed, 1501, 'the stored index plus the embedding after it')
  t.equal(JSON.parse(extended.hits[0]!.text).message, 'kilo lima mike appended later')
  t.equal((await searchContainer(out, 'alpha', { ...opts, filter: { type: 'JSON' } })).storedIndex, undefined, 'a filter builds its own index')
})

t.test('a stored index that does not match its embeddings is refused', async (t) => {
  const dir = t.testdir()
  const keys = await freshKeyring(dir)
  const out = join(dir, 'c.maif')
  await pack(dir, 'a.jsonl', out, keys.dir, messages(20, 2))
  const real = await SemanticIndex.open(out, { keyProvider: keys.keyring })
  // A forged index block: a real index file, but ids mapped to the wrong records.
  const tmp = await mkdtemp(join(tmpdir(), 'maif-forge-'))
  try {
    const vi = await VectorIndex.create({ dims: 256, metric: 'cosine' })
    vi.add(Array.from({ length: 20 }, (_, i) => i), new Float32Array(20 * 256).fill(0.0625))
    const file = join(tmp, 'i.usearch')
    vi.save(file)
    const { statSync } = await import('node:fs')
    const seqs = new Uint32Array(20).fill(2)
    const recs = Uint32Array.from({ length: 20 }, (_, i) => 19 - i)
    await writeContainer(out, indexBlockStream({ model: real.model, dims: 256, metric: 'cosine', m: 16, efConstruction: 128, count: 20, treeSize: real.treeSize, root: real.root, indexBytes: statSync(file).size }, { seqs, recs, hashes: Buffer.alloc(20 * 32) }, file), { keyProvider: keys.keyring, signer: keys.keyring.signer })
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
  await t.rejects(SemanticIndex.open(out, { keyProvider: keys.keyring }), { code: 'MAIF_ERR_INDEX_STALE', message: /maps id 0 to record 19/ })
  t.equal((await SemanticIndex.open(out, { keyProvider: keys.keyring, storedIndex: false })).size, 20, 'without it, the embeddings still search')

  // maif index --rebuild stores a good one after it; the last stored index is the one used.
  const cli = await maif(['index', out, '--keyring', keys.dir, '--rebuild', '--json'])
  t.equal(cli.code, 0, cli.stderr)
  t.match(JSON.parse(cli.stdout), { embeddings: 20, extended: false, metric: 'cosine' })
  const again = await maif(['index', out, '--keyring', keys.dir, '--json'])
  t.match(JSON.parse(again.stdout), { embeddings: 20, extended: true }, 'indexing again loads and re-stores the stored index')
  const s = await maif(['search', out, 'alpha', '--keyring', keys.dir, '--json', '-k', '1'])
  t.equal(s.code, 0, s.stderr)
  t.equal(JSON.parse(s.stdout).hits.length, 1)
  const nokey = await maif(['index', out], { env: { MAIF_KEYRING: '' } })
  t.equal(nokey.code, 2)
  t.match(nokey.stderr, /needs a keyring/)
})
