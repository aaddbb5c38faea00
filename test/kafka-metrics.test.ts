// Lag and throughput per partition: a kafka-source run exports, on its Prometheus endpoint, the records and
// bytes read from each partition, its lag when last read, and its committed offset.
import t from 'tap'
import { RunMetrics, runPipeline } from '../src/index.js'
import { startPrometheus } from '../src/core/runtime/observability.js'
import '../src/builtins.js'
import { freshKeyring } from './helpers/engine.js'
import { consumerTimings, offsets, produce, startKafka, uniqueName } from './helpers/kafka.js'

t.test('records, bytes, lag and committed offset per partition on /metrics', async (t) => {
  const topic = uniqueName('events')
  const groupId = uniqueName('g')
  const broker = await startKafka(t, { [topic]: 2 })
  const dir = t.testdir()
  const { dir: keys } = await freshKeyring(dir)
  const values = Array.from({ length: 300 }, (_, i) => JSON.stringify({ i }))
  await produce(broker, topic, values.map((value, i) => ({ value, partition: i % 3 === 0 ? 0 : 1 })))
  const metrics = new RunMetrics('kafka-metrics')
  const prom = await startPrometheus(metrics)
  t.teardown(() => prom.close())
  const stop = new AbortController()
  await runPipeline({
    name: 'kafka-metrics',
    source: { type: 'kafka', brokers: broker.bootstrap, topics: [topic], groupId, fromBeginning: true, format: 'jsonl', consumer: consumerTimings },
    transforms: [{ type: 'frame', blockMs: 50 }, { type: 'encrypt', keyring: keys }, { type: 'chain', checkpointEvery: { ms: 50 } }, { type: 'sign' }],
    sink: { type: 'container', path: 'out.maif' },
  }, { cwd: dir, stop: stop.signal, metrics, onCommit: (_o, n) => { if (n >= 300) stop.abort() } })

  const body = await (await fetch(prom.url)).text()
  const sample = (name: string, p: number): number => {
    const m = new RegExp(`^${name}\\{[^}]*partition="${topic}/${p}"[^}]*\\} (\\S+)$`, 'm').exec(body)
    if (!m) throw new Error(`${name} for partition ${p} is missing:\n${body}`)
    return Number(m[1])
  }
  const expected = [values.filter((_, i) => i % 3 === 0), values.filter((_, i) => i % 3 !== 0)]
  const o = await offsets(broker, groupId, topic)
  for (const p of [0, 1]) {
    t.equal(sample('maif_source_partition_records_total', p), expected[p]!.length, `partition ${p}: records`)
    t.equal(sample('maif_source_partition_bytes_total', p), expected[p]!.reduce((a, v) => a + v.length, 0), `partition ${p}: bytes`)
    t.equal(sample('maif_source_partition_lag', p), 0, `partition ${p}: no lag once all is read`)
    t.equal(sample('maif_source_partition_committed_offset', p), o.committed.get(p), `partition ${p}: the group's committed offset`)
  }
})
