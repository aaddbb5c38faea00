// The Kafka test broker (librdkafka's mock cluster, test/fixtures/kafka/mock-broker.c) as kafkajs sees it:
// the topics given with their partition counts, a controller that exists (so the idempotent producer works),
// and a consumer group that reads back what was produced.
import t from 'tap'
import { Kafka, logLevel } from 'kafkajs'
import { consumerTimings, startKafka, uniqueName } from './helpers/kafka.js'

t.test('the mock broker creates topics with their partitions, names a real controller, and serves a group', async (t) => {
  const topic = uniqueName('fixture')
  const broker = await startKafka(t, { [topic]: 3 })
  t.match(broker.bootstrap, /^127\.0\.0\.1:\d+$/)
  const kafka = new Kafka({ clientId: 'fixture-test', brokers: broker.brokers, logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  t.teardown(() => admin.disconnect())
  const meta = await admin.fetchTopicMetadata({ topics: [topic] })
  t.equal(meta.topics[0]!.partitions.length, 3, 'the partition count given on the command line')
  const cluster = await admin.describeCluster()
  t.ok(cluster.brokers.some((b) => b.nodeId === cluster.controller), `controller ${String(cluster.controller)} is one of the brokers`)

  // The idempotent producer asks the controller for a producer id: it fails without the fixture's fix.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  t.teardown(() => producer.disconnect())
  await producer.send({ topic, acks: -1, messages: Array.from({ length: 30 }, (_, i) => ({ key: `k${i % 5}`, value: `v${i}` })) })

  const consumer = kafka.consumer({ groupId: uniqueName('g'), ...consumerTimings })
  await consumer.connect()
  t.teardown(() => consumer.disconnect())
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  const seen: string[] = []
  await new Promise<void>((done) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value!.toString())
        if (seen.length === 30) done()
      },
    })
  })
  t.same(seen.sort(), Array.from({ length: 30 }, (_, i) => `v${i}`).sort())
})

t.test('a broker that cannot start fails with why', async (t) => {
  await t.rejects(startKafka(t, { [uniqueName('none')]: 0 }), { message: /exited with code 2: .*bad partition count/s })
})
