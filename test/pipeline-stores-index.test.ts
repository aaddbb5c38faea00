// `maif run pipelines/index-agent-memory.yaml` leaves a container that is searchable on its own: the container
// sink stores the HNSW index of the run's embeddings (an XVIX block) after the last checkpoint, so `maif search`
// loads it (without `maif index`) and finds what an exact scan ranks first. A second run that appends extends
// the stored index; `storeIndex: false` leaves it out.
import t from 'tap'
import { join } from 'node:path'
import { readFileSync, writeFileSync } from 'node:fs'
import { maif } from './helpers/cli.js'
import { REPO } from './helpers/engine.js'
import { generateKeyring } from '../src/core/format/keyring.js'
import { HashingEmbedder } from '../src/core/semantic/hashing.js'

interface Hits { hits: Array<{ seq: number; record: number; score: number; text: string }>; indexed: number; storedIndex?: number }

const records = readFileSync(join(REPO, 'samples/agent-logs.jsonl'), 'utf8').split('\n').flatMap((l) => { try { return [JSON.parse(l) as { text?: unknown }] } catch { return [] } })
const texts = records.map((r) => r.text).filter((x): x is string => typeof x === 'string' && /\p{L}/u.test(x))

/** An exact cosine scan over `pool` for `query`: each text with its score, best first. */
async function exactScan(pool: string[], query: string): Promise<Array<{ text: string; score: number }>> {
  const emb = new HashingEmbedder()
  const all = await emb.embed(pool)
  const q = await emb.embed([query])
  const scored = pool.map((text, i) => {
    let s = 0
    for (let j = 0; j < 384; j++) s += all[i * 384 + j]! * q[j]!
    return { text, score: s }
  })
  // A stable sort keeps the first of equal scores first, as the scan that picked the best did before.
  return scored.sort((a, b) => b.score - a.score)
}

const queryOf = (text: string): string => text.split(/\s+/).slice(0, 6).join(' ')

t.test('the pipeline stores the index; search loads it and finds the known answers', async (t) => {
  const dir = t.testdir()
  const keys = join(dir, 'keys')
  await generateKeyring(keys)
  const out = join(dir, 'memory.maif')
  const run = await maif(['run', 'pipelines/index-agent-memory.yaml', '--no-progress', '--log-level', 'warn', '--json'], { env: { MAIF_KEYRING: keys, MAIF_OUT: out } })
  t.equal(run.code, 0, run.stderr)
  t.notMatch(run.stderr, /was not stored/, 'no warning about the index')

  for (const target of [texts[3]!, texts[Math.floor(texts.length / 2)]!, texts[texts.length - 2]!]) {
    const query = queryOf(target)
    const r = await maif(['search', out, query, '-k', '3', '--json'], { env: { MAIF_KEYRING: keys } })
    t.equal(r.code, 0, r.stderr)
    const res = JSON.parse(r.stdout) as Hits
    t.type(res.storedIndex, 'number', 'the search loaded the index the run stored')
    t.equal(res.indexed, texts.length, 'the stored index holds every record with text')
    const exact = await exactScan(texts, query)
    t.equal((JSON.parse(res.hits[0]!.text) as { text: string }).text, exact[0]!.text, `the exact scan's nearest record comes first for '${query}'`)
    // HNSW is approximate: two graphs (stored, rebuilt) searched with the default candidate list may each miss
    // a different near neighbour at rank 2 or 3 (one such miss failed a CI run). With a candidate list larger
    // than the index, a search visits every reachable vector, so both must give the exact scan's scores,
    // rank by rank. Records whose scores tie may come in either order, so records are compared at rank 1.
    const wide = ['-k', '3', '--json', '--ef', String(2 * texts.length)]
    const stored = JSON.parse((await maif(['search', out, query, ...wide], { env: { MAIF_KEYRING: keys } })).stdout) as Hits
    const rebuilt = await maif(['search', out, query, ...wide, '--rebuild'], { env: { MAIF_KEYRING: keys } })
    t.equal(rebuilt.code, 0, rebuilt.stderr)
    const rb = JSON.parse(rebuilt.stdout) as Hits
    t.type(stored.storedIndex, 'number')
    t.equal(rb.storedIndex, undefined)
    for (const [name, h] of [['stored', stored], ['rebuilt', rb]] as const) {
      t.equal(h.hits.length, 3)
      h.hits.forEach((x, i) => t.ok(Math.abs(x.score - exact[i]!.score) < 1e-4, `${name} index, rank ${i + 1}: score ${x.score} is the exact scan's ${exact[i]!.score}`))
    }
    t.equal(rb.hits[0]!.text, stored.hits[0]!.text, 'and with the same first record')
  }
  const v = await maif(['verify', out, '--keyring', keys, '--embeddings', '--json'])
  t.equal(v.code, 0, v.stderr)
  t.match(JSON.parse(v.stdout), { ok: true, embeddings: { ok: true, embeddings: texts.length } })
})

t.test('a second run appends, and the index it stores covers both runs', async (t) => {
  const dir = t.testdir()
  const keys = join(dir, 'keys')
  await generateKeyring(keys)
  const out = join(dir, 'memory.maif')
  const half = Math.floor(records.length / 2)
  const lines = records.map((r) => JSON.stringify(r))
  const a = join(dir, 'a.jsonl')
  const b = join(dir, 'b.jsonl')
  writeFileSync(a, lines.slice(0, half).join('\n') + '\n')
  writeFileSync(b, lines.slice(half).join('\n') + '\n')
  const env = { MAIF_KEYRING: keys, MAIF_OUT: out }
  for (const input of [a, b]) {
    const run = await maif(['run', 'pipelines/index-agent-memory.yaml', '--set', `source.path=${input}`, '--no-progress', '--log-level', 'warn'], { env })
    t.equal(run.code, 0, run.stderr)
  }
  const target = texts[texts.length - 5]!
  const r = await maif(['search', out, queryOf(target), '-k', '1', '--json'], { env: { MAIF_KEYRING: keys } })
  t.equal(r.code, 0, r.stderr)
  const res = JSON.parse(r.stdout) as Hits
  t.type(res.storedIndex, 'number')
  t.equal(res.indexed, texts.length, 'the stored index covers both runs')
  t.equal((JSON.parse(res.hits[0]!.text) as { text: string }).text, (await exactScan(texts, queryOf(target)))[0]!.text, 'a record of the second run is found')
})

t.test('storeIndex: false leaves the index to the search', async (t) => {
  const dir = t.testdir()
  const keys = join(dir, 'keys')
  await generateKeyring(keys)
  const out = join(dir, 'memory.maif')
  const run = await maif(['run', 'pipelines/index-agent-memory.yaml', '--set', 'sink.storeIndex=false', '--no-progress', '--log-level', 'warn'], { env: { MAIF_KEYRING: keys, MAIF_OUT: out } })
  t.equal(run.code, 0, run.stderr)
  const target = texts[10]!
  const r = await maif(['search', out, queryOf(target), '-k', '1', '--json'], { env: { MAIF_KEYRING: keys } })
  t.equal(r.code, 0, r.stderr)
  const res = JSON.parse(r.stdout) as Hits
  t.equal(res.storedIndex, undefined, 'no stored index: the search built one')
  t.equal((JSON.parse(res.hits[0]!.text) as { text: string }).text, (await exactScan(texts, queryOf(target)))[0]!.text)
})
