// The shipped example pipelines/kafka-agent-logging.yaml, run as the README says (maif run, brokers from
// KAFKA_BROKERS), against a real broker: published agent events end up in one container per partition,
// and a SIGTERM leaves the group with every offset committed.
import t from 'tap'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyring } from '../src/core/format/keyring.js'
import { AgentPublisher } from '../src/index.js'
import { containerRecords, offsets, startKafka, startWorker, uniqueName, waitFor } from './helpers/kafka.js'
import { repoPath } from './helpers/engine.js'

t.test('pipelines/kafka-agent-logging.yaml: agent events to per-partition containers', async (t) => {
  const topic = uniqueName('agent-events')
  const group = uniqueName('maif-agent-logging')
  const broker = await startKafka(t, { [topic]: 2 })
  const dir = t.testdir()
  const keys = join(dir, 'keys')
  await generateKeyring(keys)
  const agent = await AgentPublisher.connect({ brokers: broker.bootstrap, topic, agentId: 'planner' })
  const other = await AgentPublisher.connect({ brokers: broker.bootstrap, topic, agentId: 'coder-2' })
  await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? agent : other).publish({ i, type: 'tool_call' }, { traceId: `run-${i % 4}` })))
  await agent.close()
  await other.close()

  const outDir = join(dir, 'out')
  const worker = startWorker(t, repoPath('pipelines/kafka-agent-logging.yaml'), { ...broker.env, KAFKA_TOPIC: topic, KAFKA_GROUP: group, MAIF_KEYRING: keys, MAIF_OUT_DIR: outDir })
  await waitFor('every event committed', async () => {
    if (worker.child.exitCode !== null) throw new Error(`the worker exited: ${(await worker.exited).stderr}`)
    const o = await offsets(broker, group, topic)
    return [...o.high].every(([p, h]) => h > 0 ? o.committed.get(p) === h : true)
  })
  worker.child.kill('SIGTERM')
  const res = await worker.exited
  t.equal(res.code, 0, 'a graceful stop exits 0', { stderr: res.stderr })
  const files = readdirSync(outDir).filter((f) => f.endsWith('.maif')).sort()
  t.ok(files.length >= 1 && files.every((f) => f.startsWith(`${topic}-`)), `per-partition containers: ${files.join(', ')}`)
  let n = 0
  for (const f of files) n += (await containerRecords(join(outDir, f), keys)).length
  t.equal(n, 60, 'every event is in a container')
})
