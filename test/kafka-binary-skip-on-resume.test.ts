// Skip on resume for binary messages: each message is its own block, which records its offset. A second run
// that reads the whole topic again (a new group, as after resetting the group's offsets) writes nothing more
// into the partition containers: every object is there once, byte for byte.
import t from 'tap'
import { join } from 'node:path'
import { runPipeline } from '../src/index.js'
import '../src/builtins.js'
import { verifyContainer } from '../src/core/container/verify.js'
import { freshKeyring } from './helpers/engine.js'
import { consumerTimings, offsets, produce, startKafka, uniqueName } from './helpers/kafka.js'

const N = 60

t.test('binary messages read twice are written once', async (t) => {
  const topic = uniqueName('blobs')
  const broker = await startKafka(t, { [topic]: 2 })
  const dir = t.testdir()
  const { dir: keys, keyring } = await freshKeyring(dir)
  const blobs = Array.from({ length: N }, (_, i) => Buffer.from(Array.from({ length: 50 + i }, (_, k) => (i * 31 + k) & 0xff)))
  await produce(broker, topic, blobs.map((value, i) => ({ value, partition: i % 2 })))
  const run = async (group: string): Promise<number> => {
    const stop = new AbortController()
    const poll = setInterval(() => {
      void offsets(broker, group, topic).then((o) => { if ([...o.high].every(([p, h]) => o.committed.get(p) === h)) stop.abort() }, () => undefined)
    }, 300)
    const report = await runPipeline({
      name: 'blobs',
      source: { type: 'kafka', brokers: broker.bootstrap, topics: [topic], groupId: group, fromBeginning: true, format: 'binary', consumer: consumerTimings },
      transforms: [{ type: 'frame' }, { type: 'encrypt', keyring: keys }, { type: 'chain', checkpointEvery: { ms: 50 } }, { type: 'sign' }],
      sink: { type: 'container', path: 'out/{topic}-{partition}.maif' },
    }, { cwd: dir, stop: stop.signal })
    clearInterval(poll)
    t.ok(report.reconciled)
    return report.delivered
  }
  t.equal(await run(uniqueName('g')), N)
  t.equal(await run(uniqueName('again')), N, 'the second run settles every message (skipped)')
  for (const p of [0, 1]) {
    const file = join(dir, 'out', `${topic}-${p}.maif`)
    const got: Buffer[] = []
    const r = await verifyContainer(file, { keyProvider: keyring, pinned: [keyring.signer.publicKey], onBlock: (b) => { got.push(Buffer.from(b.data)) } })
    t.ok(r.ok, `${p}: verifies`)
    t.same(got, blobs.filter((_, i) => i % 2 === p), `partition ${p}: each object once, byte for byte, in order`)
  }
})
