// An agent built with LangChain.js logs every model and tool call to Kafka, where maif workers running
// pipelines/kafka-agent-logging.yaml turn them into signed, encrypted containers. The wiring is one handler:
//
//   const publisher = await AgentPublisher.connect({ brokers: process.env.KAFKA_BROKERS!, topic: 'agent-events', agentId: 'planner' })
//   await agent.invoke(input, { callbacks: [new MaifCallbackHandler(publisher)] })
//   await publisher.close()
//
// Each event is one JSON message keyed by the agent id, with the run's root id as its trace id (header and
// field), so one agent's events stay in order on one partition and a whole run can be found by trace.
// `awaitHandlers` makes LangChain wait for the broker's acknowledgement of each event before it goes on: an
// event the agent got past is in Kafka (acks -1), which is where maif's at-least-once delivery starts.
import { BaseCallbackHandler } from '@langchain/core/callbacks/base'
import type { Serialized } from '@langchain/core/load/serializable'
import type { LLMResult } from '@langchain/core/outputs'
import type { AgentPublisher } from 'maif'

export class MaifCallbackHandler extends BaseCallbackHandler {
  name = 'maif'
  override awaitHandlers = true
  readonly #publisher: AgentPublisher
  /** Each run's root run (its trace), for runs nested in chains and agents. */
  readonly #trace = new Map<string, string>()

  constructor(publisher: AgentPublisher) {
    super()
    this.#publisher = publisher
  }

  #send(runId: string, parentRunId: string | undefined, event: Record<string, unknown>): Promise<void> {
    const traceId = parentRunId === undefined ? runId : (this.#trace.get(parentRunId) ?? parentRunId)
    this.#trace.set(runId, traceId)
    return this.#publisher.publish({ run_id: runId, ...(parentRunId ? { parent_run_id: parentRunId } : {}), ...event }, { traceId })
  }

  // LangChain's CallbackManager calls it as (chain, inputs, runId, parentRunId, tags, metadata, runType, runName),
  // whatever the parameter names of the base class's declaration say.
  override handleChainStart(chain: Serialized, _inputs: unknown, runId: string, parentRunId?: string, _tags?: string[], _metadata?: Record<string, unknown>, _runType?: string, runName?: string): Promise<void> {
    return this.#send(runId, parentRunId, { type: 'chain_start', name: runName ?? chain.id.at(-1) })
  }

  override handleLLMStart(llm: Serialized, prompts: string[], runId: string, parentRunId?: string): Promise<void> {
    return this.#send(runId, parentRunId, { type: 'llm_start', model: llm.id.at(-1), prompts })
  }

  override handleLLMEnd(output: LLMResult, runId: string, parentRunId?: string): Promise<void> {
    const text = output.generations.flat().map((g) => g.text)
    return this.#send(runId, parentRunId, { type: 'llm_end', text, ...(output.llmOutput?.tokenUsage ? { usage: output.llmOutput.tokenUsage } : {}) })
  }

  override handleLLMError(err: Error, runId: string, parentRunId?: string): Promise<void> {
    return this.#send(runId, parentRunId, { type: 'llm_error', error: err.message })
  }

  override handleToolStart(tool: Serialized, input: string, runId: string, parentRunId?: string, _tags?: string[], _metadata?: Record<string, unknown>, runName?: string): Promise<void> {
    return this.#send(runId, parentRunId, { type: 'tool_start', tool: runName ?? tool.id.at(-1), input })
  }

  override handleToolEnd(output: unknown, runId: string, parentRunId?: string): Promise<void> {
    const content = typeof output === 'object' && output !== null && 'content' in output ? (output as { content: unknown }).content : output
    return this.#send(runId, parentRunId, { type: 'tool_end', output: typeof content === 'string' ? content : JSON.stringify(content) })
  }

  override handleToolError(err: Error, runId: string, parentRunId?: string): Promise<void> {
    return this.#send(runId, parentRunId, { type: 'tool_error', error: err.message })
  }
}
