// An agent publishes events with the AgentPublisher; a kafka-source pipeline turns them into a container.
// The agent and trace ids travel as message headers and come out as record metadata (metadataField), and
// each agent's events keep their order (one key, one partition).
import t from 'tap'
import { join } from 'node:path'
import { AgentPublisher, runPipeline } from '../src/index.js'
import '../src/builtins.js'
import { freshKeyring, readContainer } from './helpers/engine.js'
import { consumerTimings, startKafka, uniqueName } from './helpers/kafka.js'

t.test('published agent events reach the container with their agent and trace ids, in order per agent', async (t) => {
  const topic = uniqueName('agent-events')
  const broker = await startKafka(t, { [topic]: 4 })
  const dir = t.testdir()
  const { dir: keys, keyring } = await freshKeyring(dir)
  const agents = await Promise.all(['planner', 'coder', 'critic'].map((agentId) => AgentPublisher.connect({ brokers: broker.bootstrap, topic, agentId, lingerMs: 5 })))
  const N = 40
  await Promise.all(agents.map(async (a, k) => {
    for (let n = 0; n < N; n++) await a.publish({ type: 'step', n }, { traceId: `trace-${k}-${n % 3}` })
  }))
  await Promise.all(agents.map((a) => a.close()))

  const stop = new AbortController()
  const report = await runPipeline({
    name: 'agent-logging',
    source: { type: 'kafka', brokers: broker.bootstrap, topics: [`/^${topic}$/`], groupId: uniqueName('g'), fromBeginning: true, format: 'jsonl', metadataField: '_kafka', consumer: consumerTimings },
    transforms: [{ type: 'frame', blockMs: 50 }, { type: 'encrypt', keyring: keys }, { type: 'chain', checkpointEvery: { ms: 50 } }, { type: 'sign' }],
    sink: { type: 'container', path: 'events.maif' },
  }, { cwd: dir, stop: stop.signal, onCommit: (_o, n) => { if (n >= 3 * N) stop.abort() } })
  t.equal(report.delivered, 3 * N)

  const recs = (await readContainer(join(dir, 'events.maif'), keyring)).lines.map((l) => JSON.parse(l) as {
    agent_id: string; trace_id: string; n: number; ts: string; _kafka: { topic: string; partition: number; offset: string; key: string; agentId: string; traceId: string }
  })
  t.equal(recs.length, 3 * N)
  for (const r of recs) {
    t.equal(r._kafka.agentId, r.agent_id, 'the agent-id header becomes metadata')
    t.equal(r._kafka.traceId, r.trace_id, 'the trace-id header becomes metadata')
    t.equal(r._kafka.key, r.agent_id)
    t.equal(r._kafka.topic, topic)
  }
  for (const name of ['planner', 'coder', 'critic']) {
    const mine = recs.filter((r) => r.agent_id === name)
    t.same(mine.map((r) => r.n), Array.from({ length: N }, (_, n) => n), `${name}: every event, in order`)
    t.equal(new Set(mine.map((r) => r._kafka.partition)).size, 1, `${name}: one partition`)
  }
})
