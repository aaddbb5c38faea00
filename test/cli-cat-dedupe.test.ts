// maif cat --dedupe: a container that holds every Kafka record twice (the topic consumed again from the
// beginning into the same container, as a worker resumed from an old offset would) prints each record
// once, byte for byte as the first copy; without --dedupe both copies print. A writer skips on resume what
// the container's blocks say they hold; here another writer's block (records without offsets) comes in
// between, as in a container first written before blocks recorded offsets, so the second pass writes
// every record again.
import t from 'tap'
import { join } from 'node:path'
import { writeContainer } from '../src/core/container/writer.js'
import { runPipeline } from '../src/index.js'
import '../src/builtins.js'
import { freshKeyring } from './helpers/engine.js'
import { maif } from './helpers/cli.js'
import { consumerTimings, produce, startKafka, uniqueName } from './helpers/kafka.js'

t.test('cat --dedupe leaves out records written again, by partition and offset', async (t) => {
  const topic = uniqueName('events')
  const broker = await startKafka(t, { [topic]: 3 })
  const dir = t.testdir()
  const { dir: keys, keyring } = await freshKeyring(dir)
  await produce(broker, topic, Array.from({ length: 150 }, (_, i) => ({ key: `a${i % 7}`, value: JSON.stringify({ i }) })))
  const once = async (): Promise<void> => {
    const stop = new AbortController()
    await runPipeline({
      name: 'dup',
      source: { type: 'kafka', brokers: broker.bootstrap, topics: [topic], groupId: uniqueName('g'), fromBeginning: true, format: 'jsonl', metadataField: '_kafka', consumer: consumerTimings },
      transforms: [{ type: 'frame', blockMs: 50, blockRecords: 40 }, { type: 'encrypt', keyring: keys }, { type: 'chain', checkpointEvery: { ms: 50 } }, { type: 'sign' }],
      sink: { type: 'container', path: 'events.maif' },
    }, { cwd: dir, stop: stop.signal, onCommit: (_o, n) => { if (n >= 150) stop.abort() } })
  }
  const file = join(dir, 'events.maif')
  await once()
  await writeContainer(file, [{ note: 'another writer' }], { keyProvider: keyring, signer: keyring.signer })
  await once() // a second group reads the whole topic again: every record a second time
  const all = await maif(['cat', file, '--keyring', keys, '--jsonl'])
  t.equal(all.code, 0, all.stderr)
  const lines = all.stdout.trimEnd().split('\n')
  t.equal(lines.length, 301, 'without --dedupe both copies print')
  const dd = await maif(['cat', file, '--keyring', keys, '--jsonl', '--dedupe'])
  t.equal(dd.code, 0, dd.stderr)
  const kept = dd.stdout.trimEnd().split('\n')
  t.equal(kept.length, 151, 'each record once (and the record without offsets)')
  t.same(kept, lines.slice(0, 151), 'the first copies, byte for byte, in container order')
  t.same(new Set(kept.map((l) => (JSON.parse(l) as { i?: number }).i)).size, 151)
  t.match(dd.stderr, /150 duplicate records left out/)
})
