// observability.cloudwatch: a run publishes its counters to CloudWatch metrics (moto's server), with the
// Pipeline dimension and the ones the definition names; the sums match the run report.
import '../src/builtins.js'
import t from 'tap'
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import { CloudWatchClient, GetMetricStatisticsCommand, ListMetricsCommand } from '@aws-sdk/client-cloudwatch'
import { runPipeline } from '../src/core/runtime/engine.js'
import { startMoto } from './helpers/moto.js'

t.test('pipeline counts reach CloudWatch with their dimensions', async (t) => {
  const moto = await startMoto(t)
  Object.assign(process.env, moto.env)
  const cw = new CloudWatchClient({ ...moto.clientConfig, disableRequestCompression: true })
  t.teardown(() => cw.destroy())
  const dir = t.testdir()
  const lines = Array.from({ length: 120 }, (_, i) => (i % 40 === 7 ? 'not json' : JSON.stringify({ i })))
  writeFileSync(join(dir, 'in.jsonl'), lines.join('\n') + '\n')
  const started = new Date(Date.now() - 60_000)
  const report = await runPipeline({
    name: 'metered',
    source: { type: 'file', path: 'in.jsonl', format: 'jsonl' },
    sinks: { mode: 'all', outputs: [{ type: 'file', path: 'out.jsonl' }] },
    deadLetter: { type: 'file', path: 'dead.jsonl' },
    observability: { cloudwatch: { namespace: 'Maif/Test', dimensions: { env: 'test' } } },
  }, { cwd: dir })
  t.equal(report.deadLetters, 3)
  const dims = [{ Name: 'Pipeline', Value: 'metered' }, { Name: 'env', Value: 'test' }]
  const listed = await cw.send(new ListMetricsCommand({ Namespace: 'Maif/Test' }))
  t.strictSame((listed.Metrics ?? []).map((m) => m.MetricName).sort(), ['BytesIn', 'DeadLetters', 'Delivered', 'RecordsIn'])
  t.ok((listed.Metrics ?? []).every((m) => JSON.stringify(m.Dimensions) === JSON.stringify(dims)), 'Pipeline and env dimensions')
  const sum = async (name: string): Promise<number> => {
    const r = await cw.send(new GetMetricStatisticsCommand({ Namespace: 'Maif/Test', MetricName: name, Dimensions: dims, StartTime: started, EndTime: new Date(Date.now() + 60_000), Period: 3600, Statistics: ['Sum'] }))
    return (r.Datapoints ?? []).reduce((n, d) => n + (d.Sum ?? 0), 0)
  }
  t.equal(await sum('RecordsIn'), report.recordsIn)
  t.equal(await sum('Delivered'), report.delivered)
  t.equal(await sum('DeadLetters'), report.deadLetters)
  t.equal(await sum('BytesIn'), report.bytes)
})

t.test('an unreachable CloudWatch does not fail the run', async (t) => {
  const dir = t.testdir()
  writeFileSync(join(dir, 'in.jsonl'), '{"a":1}\n')
  const report = await runPipeline({
    source: { type: 'file', path: 'in.jsonl', format: 'jsonl' },
    sinks: { mode: 'all', outputs: [{ type: 'file', path: 'out.jsonl' }] },
    observability: { cloudwatch: { namespace: 'Maif/Test', aws: { endpoint: 'http://127.0.0.1:9' } } },
  }, { cwd: dir })
  t.equal(report.delivered, 1)
})
