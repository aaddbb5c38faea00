// The LangChain.js example (pipelines/examples/langchain-callback.ts): a LangChain chain (LangChain's own
// fake chat model, a real tool) runs with the maif callback handler; the events it publishes reach the mock
// broker, and a kafka-source pipeline turns them into a container: every model and tool call, in order, under
// the root run's trace id, with the agent id.
import t from 'tap'
import { join } from 'node:path'
import { RunnableLambda } from '@langchain/core/runnables'
import { tool } from '@langchain/core/tools'
import { FakeListChatModel } from '@langchain/core/utils/testing'
import { z } from 'zod'
import { AgentPublisher, runPipeline } from '../src/index.js'
import '../src/builtins.js'
import { MaifCallbackHandler } from '../pipelines/examples/langchain-callback.js'
import { freshKeyring, readContainer } from './helpers/engine.js'
import { consumerTimings, startKafka, uniqueName } from './helpers/kafka.js'

t.test('a LangChain run with the maif callback handler: its model and tool calls land in a container', async (t) => {
  const topic = uniqueName('agent-events')
  const broker = await startKafka(t, { [topic]: 2 })
  const dir = t.testdir()
  const { dir: keys, keyring } = await freshKeyring(dir)

  const publisher = await AgentPublisher.connect({ brokers: broker.bootstrap, topic, agentId: 'researcher' })
  const model = new FakeListChatModel({ responses: ['look up the weather', 'it is sunny'] })
  const weather = tool(async ({ city }: { city: string }) => `sunny in ${city}`, { name: 'weather', description: 'the weather in a city', schema: z.object({ city: z.string() }) })
  // A small agent loop as one chain: ask the model, call the tool, ask again.
  const agent = RunnableLambda.from(async (question: string, config) => {
    const plan = await model.invoke(question, config)
    const seen = await weather.invoke({ city: 'Oslo' }, config)
    const answer = await model.invoke(`${String(plan.content)}: ${String(seen)}`, config)
    return String(answer.content)
  }).withConfig({ runName: 'weather-agent' })
  const answer = await agent.invoke('what is the weather in Oslo?', { callbacks: [new MaifCallbackHandler(publisher)] })
  t.equal(answer, 'it is sunny')
  await publisher.close()

  const stop = new AbortController()
  const report = await runPipeline({
    name: 'agent-logging',
    source: { type: 'kafka', brokers: broker.bootstrap, topics: [topic], groupId: uniqueName('g'), fromBeginning: true, format: 'jsonl', metadataField: '_kafka', consumer: consumerTimings },
    transforms: [{ type: 'frame', blockMs: 50 }, { type: 'encrypt', keyring: keys }, { type: 'chain', checkpointEvery: { ms: 50 } }, { type: 'sign' }],
    sink: { type: 'container', path: 'events.maif' },
  }, { cwd: dir, stop: stop.signal, onCommit: (_o, n) => { if (n >= 7) stop.abort() } })
  t.equal(report.delivered, 7, 'chain start, 2 × (llm start, llm end), tool start, tool end')

  const recs = (await readContainer(join(dir, 'events.maif'), keyring)).lines.map((l) => JSON.parse(l) as Record<string, unknown> & { _kafka: { agentId: string; traceId: string } })
  t.same(recs.map((r) => r.type), ['chain_start', 'llm_start', 'llm_end', 'tool_start', 'tool_end', 'llm_start', 'llm_end'], 'every call, in order (one agent: one partition)')
  const root = recs[0]!
  t.equal(root.name, 'weather-agent')
  for (const r of recs) {
    t.equal(r.trace_id, root.run_id, 'every event carries the root run as its trace')
    t.equal(r._kafka.traceId, root.run_id, 'and as the trace-id header')
    t.equal(r._kafka.agentId, 'researcher')
  }
  t.same(recs[2]!.text, ['look up the weather'])
  t.equal(recs[3]!.tool, 'weather')
  t.equal(recs[4]!.output, 'sunny in Oslo')
  t.same(recs[6]!.text, ['it is sunny'])
})
