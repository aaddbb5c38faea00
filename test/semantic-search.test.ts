// Round trip: a pipeline with embed-index writes an encrypted container; searching it finds, first, the
// record whose text is lexically nearest the query (the same answer as an exact scan over the same
// embeddings), resolves each hit to its block seq and record index, honours filters, refuses a container
// that changed after it was indexed, and refuses embeddings that do not match their records.
import '../src/builtins.js'
import t from 'tap'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { mkdirSync, writeFileSync } from 'node:fs'
import { runPipeline } from '../src/core/runtime/engine.js'
import type { PipelineDefinition } from '../src/core/runtime/pipeline-schema.js'
import { SemanticIndex, checkEmbeddings, searchContainer, searchContainers } from '../src/core/semantic/search.js'
import { HashingEmbedder } from '../src/core/semantic/hashing.js'
import { encodeEmbeddings } from '../src/core/semantic/embd.js'
import { writeContainer } from '../src/core/container/writer.js'
import { freshKeyring, readContainer, splitLines } from './helpers/engine.js'
import { mulberry32 } from './helpers/clustered.js'
import { maif } from './helpers/cli.js'

const WORDS = 'agent tool call returned result planner memory context token window retry backoff request upstream service cache user session prompt answer model latency queue worker shard replica leader election timeout heartbeat'.split(' ')
const KNOWN = [
  'disk quota exceeded on volume /data for tenant acme',
  'TLS handshake failed: certificate expired for api.example.com',
  'kafka consumer group rebalanced after member heartbeat timeout',
  'user asked to summarise the quarterly revenue report in french',
]

function corpus(n: number, seed: number): string[] {
  const rnd = mulberry32(seed)
  const out: string[] = []
  for (let i = 0; i < n; i++) {
    const len = 6 + Math.floor(rnd() * 8)
    out.push(Array.from({ length: len }, () => WORDS[Math.floor(rnd() * WORDS.length)]).join(' '))
  }
  return out
}

function pipeline(input: string, out: string, keys: string, agent = 'alpha'): PipelineDefinition {
  return {
    name: 'semantic-roundtrip',
    source: { type: 'file', path: input, format: 'jsonl' },
    transforms: [
      { type: 'embed-index', field: '$.message', dims: 256, index: { type: 'hnsw', metric: 'cosine', m: 16, efConstruction: 128 } },
      { type: 'frame', blockRecords: 40, agent },
      { type: 'compress', codec: 'zstd' },
      { type: 'encrypt', keyring: keys },
      { type: 'chain' },
      { type: 'sign' },
    ],
    sink: { type: 'container', path: out },
  } as PipelineDefinition
}

const cos = (a: Float32Array, b: Float32Array): number => a.reduce((s, x, i) => s + x * b[i]!, 0)

t.test('pack with embed-index, then search', async (t) => {
  const dir = t.testdir()
  const keys = await freshKeyring(dir)
  // Two input files (two source batches at least), known records among filler, a record without the field,
  // and a malformed line that goes to the dead letters.
  const texts = corpus(700, 3)
  texts.splice(123, 0, KNOWN[0]!)
  texts.splice(401, 0, KNOWN[1]!)
  texts.splice(555, 0, KNOWN[2]!)
  texts.splice(650, 0, KNOWN[3]!)
  const recs = texts.map((m, i) => JSON.stringify({ i, agent: 'a1', message: m }))
  recs.splice(300, 0, JSON.stringify({ i: -1, note: 'no message field' }))
  mkdirSync(join(dir, 'in'))
  writeFileSync(join(dir, 'in', 'a.jsonl'), recs.slice(0, 350).join('\n') + '\n')
  writeFileSync(join(dir, 'in', 'b.jsonl'), recs.slice(350).join('\n') + '\n{broken\n')
  const out = join(dir, 'mem.maif')
  const report = await runPipeline({ ...pipeline(join(dir, 'in', '*.jsonl'), out, keys.dir), deadLetter: { type: 'file', path: join(dir, 'dl.jsonl') } } as PipelineDefinition, { cwd: dir })
  t.equal(report.status, 'completed')
  t.equal(report.delivered, recs.length)
  t.equal(report.deadLetters, 1)
  t.ok(report.emitted >= 2, `EMBD records emitted beside the data (${report.emitted})`)
  t.equal(report.reconciled, true)

  const back = await readContainer(out, keys.keyring)
  t.equal(back.result.ok, true)
  const embd = back.blocks.filter((b) => b.type === 'EMBD')
  t.ok(embd.length >= 2, 'one EMBD block per source batch')
  // Where each record landed: [seq, index in block] by record text.
  const where = new Map<string, [number, number]>()
  for (const b of back.blocks.filter((x) => x.type === 'JSON')) splitLines(b.data.toString()).forEach((l, i) => where.set(l, [b.seq, i]))
  t.equal(where.size, recs.length, 'every record is in a JSON block')

  const index = await SemanticIndex.open(out, { keyProvider: keys.keyring, pinned: [keys.keyring.signer.publicKey] })
  t.equal(index.size, texts.length, 'every record with a message is indexed, the one without is not')
  t.equal(index.model, 'maif-hashing-v1:d=256,w=2,c=3-5')
  const emb = new HashingEmbedder({ dims: 256 })
  const all = await emb.embed(texts)
  for (const [query, want] of [['disk quota exceeded on the data volume', KNOWN[0]], ['certificate expired during TLS handshake', KNOWN[1]], ['consumer heartbeat timeout, group rebalanced', KNOWN[2]], ['summarize quarterly revenue', KNOWN[3]]] as const) {
    const hits = await index.search(query, 5)
    t.equal(hits.length, 5)
    t.equal(JSON.parse(hits[0]!.text).message, want, `'${query}' finds its record first`)
    // The exact answer over the same embeddings agrees.
    const q = await emb.embed([query])
    let best = 0
    for (let i = 1; i < texts.length; i++) if (cos(all.subarray(i * 256, (i + 1) * 256), q) > cos(all.subarray(best * 256, (best + 1) * 256), q)) best = i
    t.equal(texts[best], want, 'an exact scan agrees')
    t.ok(Math.abs(hits[0]!.score - cos(all.subarray(best * 256, (best + 1) * 256), q)) < 1e-4, 'the score is the cosine')
    t.strictSame([hits[0]!.seq, hits[0]!.record], where.get(hits[0]!.text), 'seq and record locate the hit in the container')
    t.ok(hits.every((h, i) => i === 0 || h.score <= hits[i - 1]!.score), 'best first')
  }

  const filtered = await searchContainer(out, 'disk quota', { keyProvider: keys.keyring, filter: { agent: 'beta' } })
  t.equal(filtered.indexed, 0, 'a filter that matches no block indexes nothing')
  t.equal(filtered.hits.length, 0)
  const since = await searchContainer(out, 'disk quota', { keyProvider: keys.keyring, filter: { agent: 'alpha', since: Date.now() + 3_600_000 } })
  t.equal(since.indexed, 0, 'records older than `since` are left out')

  await t.rejects(SemanticIndex.open(out), { code: 'MAIF_ERR_KEY_UNAVAILABLE' }, 'an encrypted container needs its key')
  await t.rejects(index.search('   ...   '), { code: 'MAIF_ERR_SEARCH' }, 'a query with nothing to embed is refused')

  // A second run appends a session: the index opened before refuses to resolve hits against the new tree.
  writeFileSync(join(dir, 'more.jsonl'), JSON.stringify({ message: 'disk quota exceeded again on volume /data' }) + '\n')
  await runPipeline(pipeline(join(dir, 'more.jsonl'), out, keys.dir, 'beta'), { cwd: dir })
  await t.rejects(index.search('disk quota'), { code: 'MAIF_ERR_INDEX_STALE' })
  const fresh = await SemanticIndex.open(out, { keyProvider: keys.keyring })
  t.equal(fresh.size, texts.length + 1, 'opened again, it indexes the appended session too')
  const beta = await searchContainer(out, 'disk quota exceeded', { keyProvider: keys.keyring, filter: { agent: 'beta' }, k: 3 })
  t.strictSame(beta.hits.map((h) => JSON.parse(h.text).message), ['disk quota exceeded again on volume /data'], 'the agent filter keeps the other session\'s records out')

  // Several containers: hits merged by score, each naming its file.
  const other = join(dir, 'other.maif')
  writeFileSync(join(dir, 'o.jsonl'), JSON.stringify({ message: 'TLS handshake failed: certificate expired' }) + '\n')
  await runPipeline(pipeline(join(dir, 'o.jsonl'), other, keys.dir), { cwd: dir })
  const both = await searchContainers([dir], 'TLS certificate expired handshake', { keyProvider: keys.keyring, k: 2 })
  t.strictSame(both.hits.map((h) => [h.file, JSON.parse(h.text).message]).sort(), [[other, 'TLS handshake failed: certificate expired'], [out, KNOWN[1]]].sort())
})

t.test('embeddings that do not match their records are refused', async (t) => {
  const dir = t.testdir()
  const keys = await freshKeyring(dir)
  const emb = new HashingEmbedder({ dims: 32 })
  const rec = Buffer.from(JSON.stringify({ text: 'hello world' }))
  const payload = (hash: Buffer, batchRecords = 1): Buffer => encodeEmbeddings({ model: emb.id, dims: 32, normalized: true, index: { metric: 'cosine', m: 16, efConstruction: 64 }, batchRecords, ordinals: Uint32Array.of(0), hashes: hash, vectors: new Float32Array(32).fill(1 / Math.sqrt(32)) })
  const write = async (name: string, data: Buffer): Promise<string> => {
    const path = join(dir, name)
    await writeContainer(path, Readable.from([{ kind: 'lines', data: Buffer.concat([rec, Buffer.from('\n')]), count: 1, format: 'json' }, { kind: 'binary', blockType: 'EMBD', pieces: [{ data }] }], { objectMode: true }), { keyProvider: keys.keyring, signer: keys.keyring.signer })
    return path
  }
  const { createHash } = await import('node:crypto')
  const good = await write('good.maif', payload(createHash('sha256').update(rec).digest()))
  t.equal((await searchContainer(good, 'hello', { keyProvider: keys.keyring })).hits.length, 1, 'a matching hash is accepted')
  t.strictSame(await checkEmbeddings(good, { keyProvider: keys.keyring }), { embeddings: 1, models: [emb.id] }, 'checkEmbeddings (maif verify --embeddings) accepts it')
  const bad = await write('bad.maif', payload(Buffer.alloc(32, 7)))
  await t.rejects(SemanticIndex.open(bad, { keyProvider: keys.keyring }), { code: 'MAIF_ERR_EMBEDDING', message: /does not match record 0/ })
  await t.rejects(checkEmbeddings(bad, { keyProvider: keys.keyring }), { code: 'MAIF_ERR_EMBEDDING' })
  await t.rejects(checkEmbeddings(bad), { code: 'MAIF_ERR_KEY_UNAVAILABLE' }, 'an encrypted container needs its key to be checked')
  const cli = await maif(['verify', bad, '--keyring', keys.dir, '--embeddings'])
  t.equal(cli.code, 1, 'maif verify --embeddings fails on it')
  t.match(cli.stdout, /error embeddings: MAIF_ERR_EMBEDDING/)
  t.equal((await maif(['verify', bad, '--keyring', keys.dir])).code, 0, 'the container itself verifies: only the binding is wrong')
  const short = await write('short.maif', payload(createHash('sha256').update(rec).digest(), 2))
  await t.rejects(SemanticIndex.open(short, { keyProvider: keys.keyring }), { code: 'MAIF_ERR_EMBEDDING', message: /only 1 precede/ })
  const none = join(dir, 'none.maif')
  await writeContainer(none, [{ text: 'no embeddings here' }], { keyProvider: keys.keyring, signer: keys.keyring.signer })
  await t.rejects(searchContainer(none, 'x', { keyProvider: keys.keyring }), { code: 'MAIF_ERR_SEARCH', message: /no embeddings/ })
})
