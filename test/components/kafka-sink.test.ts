// The kafka sink on its own, in the engine, against a real broker (librdkafka's mock cluster): every record
// becomes one message, byte for byte, keyed and with headers from its fields; a record over maxMessageBytes
// goes to the dead letters; and when the broker never acknowledges, the source is never acknowledged either
// (its cursor records nothing) and the run fails with the Kafka error.
import t from 'tap'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs'
import { runPipeline } from '../../src/core/runtime/engine.js'
import '../../src/builtins.js'
import { readDeadLetters } from '../helpers/engine.js'
import { consumerTimings, startKafka, uniqueName } from '../helpers/kafka.js'

t.test('records to messages with keys and headers; too large to the dead letters', async (t) => {
  const topic = uniqueName('published')
  const broker = await startKafka(t, { [topic]: 3 })
  const dir = t.testdir()
  const lines = Array.from({ length: 200 }, (_, i) => JSON.stringify({ i, agent_id: `agent-${i % 6}`, trace: { id: `t${i}` }, text: 'é'.repeat(i % 9) }))
  lines.splice(50, 0, JSON.stringify({ i: -1, agent_id: 'agent-0', big: 'x'.repeat(5000) }))
  writeFileSync(join(dir, 'in.jsonl'), lines.join('\n') + '\n')
  const report = await runPipeline({
    name: 'to-kafka',
    source: { type: 'file', path: 'in.jsonl', format: 'jsonl' },
    sink: { type: 'kafka', brokers: broker.brokers, topic, keyField: 'agent_id', headers: { source: 'maif' }, headerFields: { 'agent-id': 'agent_id', 'trace-id': 'trace.id' }, maxMessageBytes: 4096, batchCount: 64 },
    deadLetter: { type: 'file', path: 'dead.jsonl' },
  }, { cwd: dir })
  t.equal(report.delivered, 200)
  t.equal(report.deadLetters, 1)
  t.ok(report.reconciled)
  const dead = readDeadLetters(join(dir, 'dead.jsonl'))
  t.equal(dead[0]?.code, 'MAIF_ERR_RECORD_TOO_LARGE')
  t.equal(dead[0]?.source?.line, 51, 'the dead letter says where the record was read')

  const got: Array<{ partition: number; m: KafkaMessage }> = []
  const consumer = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING }).consumer({ groupId: uniqueName('check'), ...consumerTimings })
  await consumer.connect()
  t.teardown(() => consumer.disconnect())
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  await new Promise<void>((done) => {
    void consumer.run({ eachMessage: async ({ partition, message }) => { got.push({ partition, m: message }); if (got.length === 200) done() } })
  })
  const expected = lines.filter((l) => !l.includes('"big"'))
  t.same(got.map((g) => g.m.value!.toString('utf8')).sort(), [...expected].sort(), 'each record once, byte for byte')
  const partitionOf = new Map<string, number>()
  for (const { partition, m } of got) {
    const rec = JSON.parse(m.value!.toString('utf8')) as { i: number; agent_id: string }
    t.equal(m.key?.toString(), rec.agent_id)
    t.equal(m.headers?.['agent-id']?.toString(), rec.agent_id)
    t.equal(m.headers?.['trace-id']?.toString(), `t${rec.i}`)
    t.equal(m.headers?.source?.toString(), 'maif')
    if (partitionOf.has(rec.agent_id)) t.equal(partition, partitionOf.get(rec.agent_id), `${rec.agent_id}: one partition per key`)
    partitionOf.set(rec.agent_id, partition)
  }
  const perPartition = (p: number): number[] => got.filter((g) => g.partition === p).map((g) => (JSON.parse(g.m.value!.toString()) as { i: number }).i)
  for (const p of [0, 1, 2]) t.same(perPartition(p), [...perPartition(p)].sort((a, b) => a - b), `partition ${p} keeps the input order`)
})

t.test('a broker that never acknowledges: the source is not acknowledged, the run fails', async (t) => {
  const broker = await startKafka(t, { unused: 1 })
  await broker.stop()
  const dir = t.testdir()
  writeFileSync(join(dir, 'in.jsonl'), '{"a":1}\n{"a":2}\n')
  await t.rejects(runPipeline({
    name: 'to-kafka',
    source: { type: 'file', path: 'in.jsonl', format: 'jsonl', cursor: 'in.cursor' },
    sink: { type: 'kafka', brokers: broker.bootstrap, topic: 'unused', connectionTimeout: 200 },
    retry: { maxAttempts: 1, backoff: { initialMs: 50, maxMs: 100 } },
  }, { cwd: dir }), { code: /^MAIF_ERR_KAFKA_(CONNECT|PRODUCE)$/ })
  const cursor = join(dir, 'in.cursor')
  t.equal(existsSync(cursor) ? readFileSync(cursor, 'utf8') : '', '', 'the cursor records no progress')
})
