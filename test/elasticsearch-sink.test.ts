// The elasticsearch sink through the official client against the loopback Elasticsearch server: under
// injected per-item 429s, per-document 400s, whole-request 503s and an outage, every record is stored exactly
// once or is in the dead letters with the server's reason; a replay adds no copy; an outage that outlasts the
// retries fails the run without acknowledging anything.
import '../src/builtins.js'
import t from 'tap'
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import { runPipeline } from '../src/core/runtime/engine.js'
import type { PipelineDefinition } from '../src/core/runtime/pipeline-schema.js'
import { startElasticsearch } from './helpers/elasticsearch-server.js'
import { errorOf, readDeadLetters } from './helpers/engine.js'

const AUTH = 'Basic ' + Buffer.from('maif:s3cret-pass').toString('base64')

function input(dir: string, n: number): string[] {
  const lines = Array.from({ length: n }, (_, i) => JSON.stringify({ '@timestamp': new Date(1_790_000_000_000 + i).toISOString(), event: { id: `e-${i}`, action: 'agent.step', sequence: i }, bad: i % 37 === 5 }))
  writeFileSync(join(dir, 'in.jsonl'), lines.join('\n') + '\n')
  return lines
}

const def = (node: string, extra: Record<string, unknown> = {}): PipelineDefinition => ({
  name: 'es',
  source: { type: 'file', path: 'in.jsonl', format: 'jsonl' },
  sinks: { mode: 'all', outputs: [{ type: 'elasticsearch', node, index: 'maif-audit', idField: 'event.id', template: true, compression: true, auth: { username: 'maif', password: 's3cret-pass' }, batch: { maxEvents: 50 }, initialMs: 1, maxMs: 20, ...extra }] },
  deadLetter: { type: 'file', path: 'dead.jsonl' },
})

t.test('loopback Elasticsearch server: per-item 429 and 400, whole-request 503: each record stored once or dead-lettered with the reason', async (t) => {
  const es = await startElasticsearch({ authorization: AUTH })
  t.teardown(es.close)
  const dir = t.testdir()
  const lines = input(dir, 400)
  es.faults.throttleItems = 30
  es.faults.failRequests = { count: 2, status: 503 }
  es.faults.rejectDoc = (s) => (JSON.parse(s) as { bad: boolean }).bad ? 'failed to parse field [bad]: injected mapping conflict' : null
  const commits: number[] = []
  const report = await runPipeline(def(es.url), { cwd: dir, onCommit: (_l, n) => commits.push(n) })
  const badIdx = lines.map((_, i) => i).filter((i) => i % 37 === 5)
  const stored = es.docs('maif-audit')
  t.equal(stored.length, 400 - badIdx.length, 'every good record stored')
  t.equal(new Set(stored).size, stored.length, 'none twice')
  t.strictSame([...es.indices.get('maif-audit')!.keys()].sort(), lines.map((_, i) => i).filter((i) => !badIdx.includes(i)).map((i) => `e-${i}`).sort(), 'ids are the records\' event.id')
  t.ok(stored.every((s) => lines.includes(s)), 'documents are the records byte for byte')
  const dead = readDeadLetters(join(dir, 'dead.jsonl'))
  t.strictSame(dead.map((d) => (JSON.parse(d.raw!) as { event: { sequence: number } }).event.sequence).sort((a, b) => a - b), badIdx)
  t.ok(dead.every((d) => d.code === 'MAIF_ERR_SIEM_REJECTED' && /400 document_parsing_exception: failed to parse field \[bad\]/.test(d.reason)), 'the server\'s status, type and reason')
  t.equal(report.reconciled, true)
  t.strictSame(report.outputs.map((o) => [o.records, o.deadLetters]), [[400, badIdx.length]])
  t.equal(commits[commits.length - 1], 400)
  t.equal(es.faults.throttleItems, 0, 'the throttled items were sent again')
  t.ok(es.actions.filter((a) => a.op === 'create').length >= 400 + 30, 'retries went out')
  t.ok(es.requests.filter((r) => r.path === '/_bulk').every((r) => r.headers['content-encoding'] === 'gzip' && /x-ndjson/.test(String(r.headers['content-type']))), 'gzipped NDJSON')
  t.match(es.templates.get('maif-maif-audit'), { index_patterns: ['maif-audit'], template: { mappings: { properties: { event: { properties: { action: { type: 'keyword' } } } } } } })
  t.notOk(JSON.stringify(es.requests.map((r) => r.path)).includes('s3cret'), 'credentials travel only in the Authorization header')
})

t.test('loopback Elasticsearch server: a replay of the same records adds no copy (create with deterministic ids; 409 counts as stored)', async (t) => {
  const es = await startElasticsearch()
  t.teardown(es.close)
  const dir = t.testdir()
  input(dir, 120)
  const d = def(es.url, { auth: undefined, idField: undefined })
  const first = await runPipeline(d, { cwd: dir })
  const before = new Map(es.indices.get('maif-audit'))
  const second = await runPipeline({ ...d, deadLetter: { type: 'file', path: 'dead2.jsonl' } }, { cwd: dir })
  t.equal(es.indices.get('maif-audit')!.size, before.size, 'no new documents')
  t.strictSame(new Map(es.indices.get('maif-audit')), before)
  t.strictSame([first.outputs[0]!.records, second.outputs[0]!.records], [120, 120])
  t.equal(second.outputs[0]!.deadLetters, first.outputs[0]!.deadLetters, 'a conflict is not a dead letter')
  t.ok([...before.keys()].every((k) => /^[A-Za-z0-9_-]{43}$/.test(k)), 'without idField, the id is the SHA-256 of the record')
})

t.test('loopback Elasticsearch server: an outage that ends is ridden out; one that outlasts the retries fails the run, acknowledging nothing', async (t) => {
  const es = await startElasticsearch()
  t.teardown(es.close)
  t.test('ends', async (t) => {
    const dir = t.testdir()
    input(dir, 60)
    es.faults.down = true
    setTimeout(() => { es.faults.down = false }, 300)
    const report = await runPipeline(def(es.url, { auth: undefined, template: false, maxAttempts: 100, initialMs: 20, maxMs: 100 }), { cwd: dir })
    t.equal(report.outputs[0]!.records, 60)
    t.equal(es.indices.get('maif-audit')!.size, 60, 'no fault but the outage: all stored')
  })
  t.test('outlasts', async (t) => {
    const dir = t.testdir()
    input(dir, 10)
    es.faults.down = true
    t.teardown(() => { es.faults.down = false })
    const commits: number[] = []
    const err = await errorOf(runPipeline(def(es.url, { auth: undefined, template: false, index: 'other', maxAttempts: 3 }), { cwd: dir, onCommit: (_l, n) => commits.push(n) }))
    t.equal(err?.code, 'MAIF_ERR_SIEM_UNAVAILABLE')
    t.strictSame(commits, [])
    t.strictSame(readDeadLetters(join(dir, 'dead.jsonl')), [])
    t.equal(es.indices.get('other'), undefined)
  })
})

t.test('loopback Elasticsearch server: wrong credentials fail the run with MAIF_ERR_SIEM_AUTH', async (t) => {
  const es = await startElasticsearch({ authorization: AUTH })
  t.teardown(es.close)
  const dir = t.testdir()
  input(dir, 3)
  const err = await errorOf(runPipeline(def(es.url, { auth: { username: 'maif', password: 'wrong' }, template: false }), { cwd: dir }))
  t.equal(err?.code, 'MAIF_ERR_SIEM_AUTH')
})
