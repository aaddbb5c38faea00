// The cloudwatch-logs sink against a real moto server: it creates the group and stream when asked, sends every
// record once, dead-letters the events the service rejects (too old, too new) and those over 256 KiB with the
// reason, acknowledges only what is settled, and fails the run (acknowledging nothing) when the service is down.
import '../src/builtins.js'
import t from 'tap'
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import { CloudWatchLogsClient, GetLogEventsCommand, CreateLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs'
import { runPipeline } from '../src/core/runtime/engine.js'
import { startMoto } from './helpers/moto.js'
import { errorOf, readDeadLetters } from './helpers/engine.js'

const DAY = 86_400_000

t.test('cloudwatch-logs sink', async (t) => {
  const moto = await startMoto(t)
  Object.assign(process.env, moto.env)
  const logs = new CloudWatchLogsClient(moto.clientConfig)
  t.teardown(() => logs.destroy())

  async function stored(group: string, stream: string): Promise<string[]> {
    const out: string[] = []
    let token: string | undefined
    for (;;) {
      const r = await logs.send(new GetLogEventsCommand({ logGroupName: group, logStreamName: stream, startFromHead: true, ...(token ? { nextToken: token } : {}) }))
      out.push(...(r.events ?? []).map((e) => e.message!))
      if (!r.nextForwardToken || r.nextForwardToken === token || (r.events ?? []).length === 0) break
      token = r.nextForwardToken
    }
    return out
  }

  t.test('creates group and stream; every accepted record once; rejected and oversized ones dead-lettered with the reason', async (t) => {
    const dir = t.testdir()
    const now = Date.now()
    const lines: string[] = []
    for (let i = 0; i < 300; i++) lines.push(JSON.stringify({ '@timestamp': new Date(now - (300 - i) * 1000).toISOString(), 'event.action': 'agent.step', i }))
    lines[10] = JSON.stringify({ '@timestamp': new Date(now - 20 * DAY).toISOString(), i: 10, old: true })
    lines[11] = JSON.stringify({ '@timestamp': now + 5 * 3600_000, i: 11, future: true })
    lines[12] = JSON.stringify({ i: 12, big: 'b'.repeat(300 * 1024) })
    writeFileSync(join(dir, 'in.jsonl'), lines.join('\n') + '\n')
    const commits: number[] = []
    const report = await runPipeline({
      name: 'cwl',
      source: { type: 'file', path: 'in.jsonl', format: 'jsonl' },
      sinks: { mode: 'all', outputs: [{ type: 'cloudwatch-logs', logGroup: '/maif/audit', logStream: 'run-1', create: true, batch: { maxEvents: 64 }, initialMs: 1, maxMs: 5 }] },
      deadLetter: { type: 'file', path: 'dead.jsonl' },
    }, { cwd: dir, onCommit: (_l, n) => commits.push(n) })
    t.equal(report.recordsIn, 300)
    t.equal(report.reconciled, true, 'recordsIn = delivered + dead letters (the sink\'s dead letters were delivered)')
    t.strictSame(report.outputs.map((o) => [o.records, o.deadLetters]), [[300, 3]], 'all 300 settled: 297 accepted, 3 dead-lettered')
    t.equal(commits[commits.length - 1], 300)
    t.ok(commits.length >= 5, `acknowledged batch by batch (${commits.length} commits of at most 64 events)`)
    const want = lines.filter((_, i) => i < 10 || i > 12)
    const got = await stored('/maif/audit', 'run-1')
    t.strictSame(got, want, 'every accepted record exactly once, byte for byte, in time order')
    const dead = readDeadLetters(join(dir, 'dead.jsonl'))
    t.strictSame(dead.map((d) => [JSON.parse(d.raw!).i, d.code]), [[12, 'MAIF_ERR_RECORD_TOO_LARGE'], [10, 'MAIF_ERR_SIEM_REJECTED'], [11, 'MAIF_ERR_SIEM_REJECTED']])
    t.match(dead[1]!.reason, /too old/)
    t.match(dead[2]!.reason, /future/)
    t.ok(dead.every((d) => d.stage === 'cloudwatch-logs' && d.source?.line !== undefined), 'dead letters name the stage and the input line')

    // A second run into the same stream (already there: create tolerates it).
    const again = await runPipeline({
      source: { type: 'file', path: 'in.jsonl', format: 'jsonl' },
      sinks: { mode: 'all', outputs: [{ type: 'cloudwatch-logs', logGroup: '/maif/audit', logStream: 'run-1', create: true }] },
      deadLetter: { type: 'file', path: 'dead2.jsonl' },
    }, { cwd: dir })
    t.equal(again.outputs[0]!.records, 300)
  })

  t.test('without create, a missing stream fails the run with what to do, and nothing is acknowledged', async (t) => {
    const dir = t.testdir()
    writeFileSync(join(dir, 'in.jsonl'), '{"a":1}\n')
    await logs.send(new CreateLogGroupCommand({ logGroupName: 'exists' }))
    const commits: number[] = []
    const err = await errorOf(runPipeline({
      source: { type: 'file', path: 'in.jsonl', format: 'jsonl' },
      sinks: { mode: 'all', outputs: [{ type: 'cloudwatch-logs', logGroup: 'exists', logStream: 'missing' }] },
      deadLetter: { type: 'file', path: 'dead.jsonl' },
    }, { cwd: dir, onCommit: (_l, n) => commits.push(n) }))
    t.equal(err?.code, 'MAIF_ERR_SIEM_UNAVAILABLE')
    t.match(err?.message, /does not exist.*create: true/)
    t.strictSame(commits, [])
  })

  t.test('an outage is retried with backoff, then fails the run without acknowledging or dead-lettering', async (t) => {
    const dir = t.testdir()
    writeFileSync(join(dir, 'in.jsonl'), '{"a":1}\n{"a":2}\n')
    const commits: number[] = []
    const started = Date.now()
    const err = await errorOf(runPipeline({
      source: { type: 'file', path: 'in.jsonl', format: 'jsonl' },
      sinks: { mode: 'all', outputs: [{ type: 'cloudwatch-logs', logGroup: 'g', logStream: 's', aws: { endpoint: 'http://127.0.0.1:9' }, maxAttempts: 3, initialMs: 1, maxMs: 2 }] },
      deadLetter: { type: 'file', path: 'dead.jsonl' },
    }, { cwd: dir, onCommit: (_l, n) => commits.push(n) }))
    t.equal(err?.code, 'MAIF_ERR_SIEM_UNAVAILABLE')
    t.match(err?.message, /failed 3 times in a row; 2 events are not acknowledged/)
    t.strictSame(commits, [], 'nothing acknowledged')
    t.strictSame(readDeadLetters(join(dir, 'dead.jsonl')), [], 'an outage is not the records\' fault: none dead-lettered')
    t.ok(Date.now() - started < 60_000)
  })
})
