// A graceful stop of a Kafka worker (SIGTERM to a real `maif run` child) in the middle of a stream: it exits
// 0 with a reconciled report, and everything it took from Kafka is both in the container and committed:
// per partition, the committed offset is exactly one past the last offset in the container, with none missing.
import t from 'tap'
import { join } from 'node:path'
import { generateKeyring } from '../src/core/format/keyring.js'
import { committedButMissing, containerRecords, offsets, produce, startKafka, startWorker, uniqueName, waitFor } from './helpers/kafka.js'
import { repoPath } from './helpers/engine.js'

const PIPELINE = repoPath('test/fixtures/kafka/worker.yaml')

t.test('SIGTERM mid-stream: exit 0, what was read is durable and committed, nothing more', async (t) => {
  const topic = uniqueName('agent-events')
  const group = uniqueName('workers')
  const broker = await startKafka(t, { [topic]: 3 })
  const dir = t.testdir()
  const keys = join(dir, 'keys')
  await generateKeyring(keys)
  const out = join(dir, 'events.maif')
  let sent = 0
  let stopProducing = false
  const producing = (async () => {
    while (!stopProducing) {
      await produce(broker, topic, Array.from({ length: 100 }, (_, k) => ({ key: `a${(sent + k) % 5}`, value: JSON.stringify({ i: sent + k }) })))
      sent += 100
      await new Promise((r) => setTimeout(r, 20))
    }
  })()
  const worker = startWorker(t, PIPELINE, { ...broker.env, TOPIC: topic, GROUP: group, KEYS: keys, OUT: out })
  await waitFor('the first commit', async () => [...(await offsets(broker, group, topic)).committed.values()].some((c) => c > 0))
  worker.child.kill('SIGTERM')
  const res = await worker.exited
  stopProducing = true
  await producing
  t.equal(res.code, 0, 'exit 0', { stderr: res.stderr })
  const report = JSON.parse(res.stdout) as { status: string; reconciled: boolean; recordsIn: number; delivered: number }
  t.equal(report.status, 'stopped')
  t.ok(report.reconciled, 'records in = delivered + dead letters')

  const records = await containerRecords(out, keys)
  t.equal(records.length, report.delivered, 'the container holds what the report says was delivered')
  const o = await offsets(broker, group, topic)
  t.same(committedButMissing(records, o.committed), [], 'no committed offset is missing from the container')
  for (const [p] of o.high) {
    const inContainer = records.filter((r) => r.partition === p).map((r) => r.offset)
    const next = inContainer.length ? Math.max(...inContainer) + 1 : -1
    t.equal(o.committed.get(p), next, `partition ${p}: committed offset = one past the last one in the container`)
  }
  t.ok(records.length < sent, `stopped mid-stream (${records.length} of ${sent} events)`)
})
