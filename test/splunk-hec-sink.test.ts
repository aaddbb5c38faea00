// The splunk-hec sink against the loopback HEC: with indexer acknowledgements, under injected 503s, invalid
// events, slow indexing and an outage that ends, every record arrives exactly once or is in the dead letters
// with HEC's reason; lost acknowledgements make it send again (at least once); a wrong token fails the run.
import '../src/builtins.js'
import t from 'tap'
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import { runPipeline } from '../src/core/runtime/engine.js'
import type { PipelineDefinition } from '../src/core/runtime/pipeline-schema.js'
import { startSplunkHec } from './helpers/splunk-hec-server.js'
import { errorOf, readDeadLetters } from './helpers/engine.js'

function input(dir: string, n: number): string[] {
  const lines = Array.from({ length: n }, (_, i) => JSON.stringify({ '@timestamp': new Date(1_790_000_000_000 + i * 1000).toISOString(), event: { action: 'agent.step', sequence: i }, poison: i % 29 === 3 }))
  writeFileSync(join(dir, 'in.jsonl'), lines.join('\n') + '\n')
  return lines
}

const def = (url: string, token: string, extra: Record<string, unknown> = {}): PipelineDefinition => ({
  name: 'hec',
  source: { type: 'file', path: 'in.jsonl', format: 'jsonl' },
  sinks: { mode: 'all', outputs: [{ type: 'splunk-hec', url, token, index: 'maif', acks: true, ackPollMs: 10, gzip: true, batch: { maxEvents: 40 }, initialMs: 1, maxMs: 20, ...extra }] },
  deadLetter: { type: 'file', path: 'dead.jsonl' },
})

const seqs = (events: Array<{ event: unknown }>): number[] => events.map((e) => (e.event as { event: { sequence: number } }).event.sequence)

t.test('loopback Splunk HEC server: acks, 503s, invalid events and slow indexing: each record once or dead-lettered with the reason', async (t) => {
  const hec = await startSplunkHec({ acks: true })
  t.teardown(hec.close)
  const dir = t.testdir()
  const lines = input(dir, 300)
  hec.faults.busy = 3
  hec.faults.ackDelayMs = 30
  hec.faults.invalid = (e) => (e.event as { poison?: boolean }).poison === true
  const commits: number[] = []
  const report = await runPipeline(def(hec.url, hec.token), { cwd: dir, onCommit: (_l, n) => commits.push(n) })
  const poison = lines.map((_, i) => i).filter((i) => i % 29 === 3)
  const got = seqs(hec.events)
  t.equal(new Set(got).size, got.length, 'no event twice')
  t.strictSame([...got].sort((a, b) => a - b), lines.map((_, i) => i).filter((i) => !poison.includes(i)), 'every valid record indexed')
  t.ok(hec.events.every((e) => e.index === 'maif' && e.sourcetype === '_json' && typeof e.time === 'number'), 'index, sourcetype and the record time')
  t.equal(hec.events[0]!.time, 1_790_000_000, 'time in epoch seconds from @timestamp')
  t.ok(hec.events.every((e) => lines.includes(JSON.stringify(e.event))), 'the event is the record')
  const dead = readDeadLetters(join(dir, 'dead.jsonl'))
  t.strictSame(dead.map((d) => (JSON.parse(d.raw!) as { event: { sequence: number } }).event.sequence).sort((a, b) => a - b), poison)
  t.ok(dead.every((d) => d.code === 'MAIF_ERR_SIEM_REJECTED' && /HEC answered 400: Invalid data format \(code 6\)/.test(d.reason)))
  t.equal(report.reconciled, true)
  t.strictSame(report.outputs.map((o) => [o.records, o.deadLetters]), [[300, poison.length]])
  t.equal(commits[commits.length - 1], 300)
  t.equal(hec.faults.busy, 0, 'the busy answers were retried')
  t.ok(hec.ackPolls > 0, 'acknowledgements were polled')
  t.ok(hec.requests.every((r) => r.headers['content-encoding'] === 'gzip' && typeof r.headers['x-splunk-request-channel'] === 'string'), 'gzip, one channel')
})

t.test('loopback Splunk HEC server: a lost acknowledgement: the batch is sent again (at least once), and acknowledged only then', async (t) => {
  const hec = await startSplunkHec({ acks: true })
  t.teardown(hec.close)
  const dir = t.testdir()
  input(dir, 20)
  hec.faults.loseAcks = 1
  const commits: number[] = []
  const report = await runPipeline(def(hec.url, hec.token, { ackTimeoutMs: 100, batch: { maxEvents: 10 } }), { cwd: dir, onCommit: (_l, n) => commits.push(n) })
  t.equal(report.outputs[0]!.records, 20)
  const got = seqs(hec.events)
  t.equal(got.length, 30, 'the unacknowledged batch of 10 went twice')
  t.strictSame([...new Set(got)].sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i))
  t.equal(commits[0], 10)
})

t.test('loopback Splunk HEC server: an outage that ends is ridden out (acks off); one that outlasts the retries acknowledges nothing', async (t) => {
  const hec = await startSplunkHec()
  t.teardown(hec.close)
  const dir = t.testdir()
  input(dir, 50)
  hec.faults.down = true
  setTimeout(() => { hec.faults.down = false }, 300)
  const report = await runPipeline(def(hec.url, hec.token, { acks: false, maxAttempts: 100, initialMs: 20, maxMs: 100 }), { cwd: dir })
  t.equal(report.outputs[0]!.records, 50)
  t.equal(hec.events.length, 50)

  const dir2 = t.testdir()
  input(dir2, 5)
  hec.faults.down = true
  t.teardown(() => { hec.faults.down = false })
  const commits: number[] = []
  const err = await errorOf(runPipeline(def(hec.url, hec.token, { acks: false, maxAttempts: 3 }), { cwd: dir2, onCommit: (_l, n) => commits.push(n) }))
  t.equal(err?.code, 'MAIF_ERR_SIEM_UNAVAILABLE')
  t.strictSame(commits, [])
  t.strictSame(readDeadLetters(join(dir2, 'dead.jsonl')), [])
})

t.test('loopback Splunk HEC server: a wrong token fails the run with MAIF_ERR_SIEM_AUTH', async (t) => {
  const hec = await startSplunkHec()
  t.teardown(hec.close)
  const dir = t.testdir()
  input(dir, 2)
  const err = await errorOf(runPipeline(def(hec.url, 'not-the-token', { acks: false }), { cwd: dir }))
  t.equal(err?.code, 'MAIF_ERR_SIEM_AUTH')
  t.match(err?.message, /403: Invalid token \(code 4\)/)
  t.notMatch(err?.message, /not-the-token/, 'the token is not in the message')
})
