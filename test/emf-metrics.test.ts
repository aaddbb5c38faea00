// observability.cloudwatch.format: emf — pipeline counters as CloudWatch Embedded Metric Format lines (to a file
// here; '-' is stdout): each line declares the namespace, the dimension set and the metrics, carries their
// values as deltas, and the sums match the run report. The CloudWatch SDK is not needed for it.
import '../src/builtins.js'
import t from 'tap'
import { join } from 'node:path'
import { readFileSync, writeFileSync } from 'node:fs'
import { runPipeline } from '../src/core/runtime/engine.js'
import { checkPipeline } from '../src/core/runtime/pipeline-def.js'

interface EmfLine { _aws: { Timestamp: number; CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> }; [k: string]: unknown }

t.test('EMF lines carry the counters with their dimensions; the sums match the report', async (t) => {
  const dir = t.testdir()
  const lines = Array.from({ length: 90 }, (_, i) => (i % 30 === 4 ? 'not json' : JSON.stringify({ i })))
  writeFileSync(join(dir, 'in.jsonl'), lines.join('\n') + '\n')
  const report = await runPipeline({
    name: 'emf-run',
    source: { type: 'file', path: 'in.jsonl', format: 'jsonl' },
    sinks: { mode: 'all', outputs: [{ type: 'file', path: 'out.jsonl' }] },
    deadLetter: { type: 'file', path: 'dead.jsonl' },
    observability: { cloudwatch: { namespace: 'Maif/Test', dimensions: { env: 'test' }, format: 'emf', path: 'metrics.emf.jsonl' } },
  }, { cwd: dir })
  t.equal(report.deadLetters, 3)
  const emf = readFileSync(join(dir, 'metrics.emf.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as EmfLine)
  t.ok(emf.length >= 1)
  for (const e of emf) {
    t.match(e._aws, { Timestamp: Number, CloudWatchMetrics: [{ Namespace: 'Maif/Test', Dimensions: [['Pipeline', 'env']] }] })
    t.strictSame(e._aws.CloudWatchMetrics[0]!.Metrics.map((m) => `${m.Name}:${m.Unit}`), ['RecordsIn:Count', 'Delivered:Count', 'DeadLetters:Count', 'BytesIn:Bytes'])
    t.match(e, { Pipeline: 'emf-run', env: 'test' })
  }
  const sum = (k: string): number => emf.reduce((n, e) => n + (e[k] as number), 0)
  t.equal(sum('RecordsIn'), report.recordsIn)
  t.equal(sum('Delivered'), report.delivered)
  t.equal(sum('DeadLetters'), report.deadLetters)
  t.equal(sum('BytesIn'), report.bytes)
})

t.test('format is validated when the definition is', async (t) => {
  const base = { source: { type: 'file', path: 'in.jsonl' }, sinks: { mode: 'all', outputs: [{ type: 'file', path: 'o.jsonl' }] } }
  t.ok(checkPipeline({ ...base, observability: { cloudwatch: { namespace: 'N', format: 'statsd' } } }).issues.some((i) => /format/.test(JSON.stringify(i))), 'an unknown format is an issue')
  t.strictSame(checkPipeline({ ...base, observability: { cloudwatch: { namespace: 'N', format: 'emf', path: '-' } } }).issues.filter((i) => /observability/.test(JSON.stringify(i))), [])
})
