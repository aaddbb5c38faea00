// The kafka source on its own, in the engine, against a real broker (librdkafka's mock cluster): every
// message of three partitions reaches the container once, undecodable ones go to the dead letters with
// their topic, partition and offset without stalling their partition, and after a graceful stop the group's
// committed offsets are exactly the high watermarks.
import t from 'tap'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runPipeline } from '../../src/core/runtime/engine.js'
import '../../src/builtins.js'
import { freshKeyring, readContainer, readDeadLetters } from '../helpers/engine.js'
import { consumerTimings, offsets, produce, startKafka, uniqueName } from '../helpers/kafka.js'

t.test('kafka → container: records once, poison to dead letters, offsets committed after durability', async (t) => {
  const topic = uniqueName('events')
  const groupId = uniqueName('group')
  const broker = await startKafka(t, { [topic]: 3 })
  const dir = mkdtempSync(join(tmpdir(), 'maif-kafka-src-'))
  const { dir: keys, keyring } = await freshKeyring(dir)
  const N = 900
  const msgs: Array<{ key: string; value: string | Buffer; headers?: Record<string, string> }> = []
  for (let i = 0; i < N; i++) msgs.push({ key: `agent-${i % 7}`, value: JSON.stringify({ i, msg: `event ${i}` }), headers: { 'agent-id': `agent-${i % 7}` } })
  const poison = [
    { key: 'agent-1', value: '{"broken": ' },
    { key: 'agent-2', value: Buffer.from([0xff, 0xfe, 0x00]) },
    { key: 'agent-3', value: '[1, 2' },
  ]
  msgs.splice(100, 0, poison[0]!)
  msgs.splice(400, 0, poison[1]!)
  msgs.splice(700, 0, poison[2]!)
  await produce(broker, topic, msgs)

  const stop = new AbortController()
  let durable = 0
  const report = await runPipeline({
    name: 'kafka-src',
    source: { type: 'kafka', brokers: broker.bootstrap, topics: [topic], groupId, fromBeginning: true, format: 'jsonl', consumer: consumerTimings },
    transforms: [
      { type: 'frame', blockRecords: 100, blockMs: 50 },
      { type: 'encrypt', keyring: keys },
      { type: 'chain', checkpointEvery: { blocks: 2, ms: 50 } },
      { type: 'sign' },
    ],
    sink: { type: 'container', path: join(dir, 'out.maif') },
    deadLetter: { type: 'file', path: join(dir, 'dead.jsonl') },
  }, {
    stop: stop.signal, cwd: dir,
    onCommit: (_o, records) => { durable = records; if (durable >= N) stop.abort() },
  })

  t.equal(report.status, 'stopped')
  t.equal(report.recordsIn, N + 3, 'every message read')
  t.equal(report.delivered, N)
  t.equal(report.deadLetters, 3)
  t.ok(report.reconciled)

  const back = await readContainer(join(dir, 'out.maif'), keyring)
  t.ok(back.result.ok, 'the container verifies')
  const seen = back.lines.map((l) => (JSON.parse(l) as { i: number }).i)
  t.equal(seen.length, N, 'each record once')
  t.same([...new Set(seen)].sort((a, b) => a - b), Array.from({ length: N }, (_, i) => i))
  t.ok(back.lines.includes(JSON.stringify({ i: 5, msg: 'event 5' })), 'records are kept byte for byte')

  const dead = readDeadLetters(join(dir, 'dead.jsonl'))
  t.equal(dead.length, 3)
  for (const d of dead) {
    t.equal(d.code, 'MAIF_ERR_KAFKA_DECODE')
    t.equal(d.source?.topic, topic)
    t.type(d.source?.partition, 'number')
    t.match(String(d.source?.offset), /^\d+$/)
  }
  t.ok(dead.some((d) => d.rawBase64 === Buffer.from([0xff, 0xfe, 0x00]).toString('base64')), 'exact bytes of the invalid UTF-8 message')

  const o = await offsets(broker, groupId, topic)
  for (const [p, high] of o.high) t.equal(o.committed.get(p), high, `partition ${p}: committed = high watermark, poison included`)
})
