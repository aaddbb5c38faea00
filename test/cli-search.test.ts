// maif search end to end: pipelines/index-agent-memory.yaml embeds the sample agent logs into a container;
// `maif search` finds, first, the record an exact scan says is nearest, prints JSON or lines, honours
// filters, and fails clearly without a key or with wrong arguments.
import t from 'tap'
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import { maif } from './helpers/cli.js'
import { REPO } from './helpers/engine.js'
import { generateKeyring } from '../src/core/format/keyring.js'
import { HashingEmbedder } from '../src/core/semantic/hashing.js'

interface Hits { hits: Array<{ seq: number; record: number; score: number; text: string; file?: string }>; indexed: number; model: string; metric: string }

t.test('index the sample agent logs, then search them', async (t) => {
  const dir = t.testdir()
  const keys = join(dir, 'keys')
  await generateKeyring(keys)
  const out = join(dir, 'memory.maif')
  const env = { MAIF_KEYRING: keys, MAIF_OUT: out }
  const run = await maif(['run', 'pipelines/index-agent-memory.yaml', '--no-progress', '--log-level', 'warn', '--json'], { env })
  t.equal(run.code, 0, run.stderr)

  // The records with text, and what an exact scan ranks first for a query made of one record's words.
  const records = readFileSync(join(REPO, 'samples/agent-logs.jsonl'), 'utf8').split('\n').flatMap((l) => { try { return [JSON.parse(l) as { text?: unknown }] } catch { return [] } })
  const texts = records.map((r) => r.text).filter((x): x is string => typeof x === 'string' && /\p{L}/u.test(x))
  const target = texts[Math.floor(texts.length / 2)]!
  const query = target.split(/\s+/).slice(0, 6).join(' ')
  const emb = new HashingEmbedder()
  const all = await emb.embed(texts)
  const q = await emb.embed([query])
  const score = (i: number): number => { let s = 0; for (let j = 0; j < 384; j++) s += all[i * 384 + j]! * q[j]!; return s }
  let best = 0
  for (let i = 1; i < texts.length; i++) if (score(i) > score(best)) best = i

  const r = await maif(['search', out, query, '-k', '3', '--json'], { env: { MAIF_KEYRING: keys } })
  t.equal(r.code, 0, r.stderr)
  const res = JSON.parse(r.stdout) as Hits
  t.equal(res.indexed, texts.length, 'every record with text is indexed')
  t.equal(res.model, emb.id)
  t.equal(res.hits.length, 3)
  t.equal((JSON.parse(res.hits[0]!.text) as { text: string }).text, texts[best], `the exact scan's nearest record comes first for '${query}'`)
  t.ok(Math.abs(res.hits[0]!.score - score(best)) < 1e-4, 'its score is the cosine')
  t.match(res.hits[0], { seq: Number, record: Number })

  const lines = await maif(['search', out, query, '--keyring', keys, '-k', '2'])
  t.equal(lines.code, 0)
  t.match(lines.stdout, /^\d\.\d{4} {2}#\d+:\d+ {2}\{/, 'one line per hit: score, #seq:record, record')
  t.equal(lines.stdout.trim().split('\n').length, 2)

  const none = await maif(['search', out, query, '--keyring', keys, '--filter', 'agent=someone-else'])
  t.equal(none.code, 0)
  t.equal(none.stdout, '')
  t.match(none.stderr, /no hits among 0 embeddings/)
  const agent = await maif(['search', out, query, '--keyring', keys, '--filter', 'agent=sample-agents', '--filter', 'type=JSON', '--json', '-k', '1'])
  t.equal((JSON.parse(agent.stdout) as Hits).hits[0]!.text, res.hits[0]!.text, 'a filter every block matches changes nothing')

  const checked = await maif(['verify', out, '--keyring', keys, '--embeddings', '--json'])
  t.equal(checked.code, 0, checked.stderr)
  t.match(JSON.parse(checked.stdout), { ok: true, embeddings: { ok: true, embeddings: texts.length } }, 'verify --embeddings checks every embedding against its record')

  const nokey = await maif(['search', out, query], { env: { MAIF_KEYRING: '' } })
  t.equal(nokey.code, 2)
  t.match(nokey.stderr, /MAIF_ERR_KEY_UNAVAILABLE/)
  const noquery = await maif(['search', out])
  t.equal(noquery.code, 2)
  t.match(noquery.stderr, /MAIF_ERR_USAGE.*QUERY/s)
  const badFilter = await maif(['search', out, 'x', '--filter', 'colour=red'])
  t.equal(badFilter.code, 2)
  t.match(badFilter.stderr, /unknown key 'colour'/)
})
