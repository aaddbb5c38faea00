// The agent side of Kafka-driven logging: a small publisher that an agent (or an agent framework's callback)
// uses to send structured events to the topic a maif worker reads. Each event is one JSON message keyed by
// the agent id (so an agent's events stay in order on one partition), with `agent-id` and `trace-id`
// headers that the kafka source maps into record metadata. Events are gathered for `lingerMs` and sent in
// one request with acks -1 by an idempotent producer; publish() resolves once the broker has the event.
import type { Message, Producer } from 'kafkajs'
import { wrapError } from '../errors.js'
import { kafkaClient, kafkajs, type KafkaConnectionOptions } from './config.js'

export interface AgentPublisherOptions extends KafkaConnectionOptions {
  topic: string
  /** Every event carries it: the message key, the `agent-id` header and the `agent_id` field. */
  agentId: string
  /** How long events are gathered before a send (default 20 ms); 0 sends each at once. */
  lingerMs?: number
  /** Events per request at most (default 500). */
  maxBatch?: number
}

export interface PublishOptions {
  /** The trace (or run, or conversation) the event belongs to: the `trace-id` header and `trace_id` field. */
  traceId?: string
}

interface Pending { message: Message; resolve: () => void; reject: (err: unknown) => void }

export class AgentPublisher {
  readonly #producer: Producer
  readonly #o: AgentPublisherOptions
  #pending: Pending[] = []
  #timer: NodeJS.Timeout | null = null
  #sending: Promise<void> = Promise.resolve()

  private constructor(producer: Producer, o: AgentPublisherOptions) {
    this.#producer = producer
    this.#o = o
  }

  /** Connects an idempotent producer to the brokers. */
  static async connect(o: AgentPublisherOptions): Promise<AgentPublisher> {
    const producer = kafkaClient(o, undefined).producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: kafkajs().Partitioners.DefaultPartitioner })
    try {
      await producer.connect()
    } catch (err) {
      throw wrapError('MAIF_ERR_KAFKA_CONNECT', `the agent publisher cannot connect to the Kafka brokers`, err)
    }
    return new AgentPublisher(producer, o)
  }

  /** Sends one event (a JSON object); resolves once the broker has acknowledged it. */
  publish(event: Record<string, unknown>, opts: PublishOptions = {}): Promise<void> {
    const record = { ts: new Date().toISOString(), agent_id: this.#o.agentId, ...(opts.traceId === undefined ? {} : { trace_id: opts.traceId }), ...event }
    const headers: Record<string, string> = { 'agent-id': this.#o.agentId, ...(opts.traceId === undefined ? {} : { 'trace-id': opts.traceId }) }
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ message: { key: this.#o.agentId, value: JSON.stringify(record), headers }, resolve, reject })
      if (this.#pending.length >= (this.#o.maxBatch ?? 500) || (this.#o.lingerMs ?? 20) === 0) void this.flush()
      else this.#timer ??= setTimeout(() => void this.flush(), this.#o.lingerMs ?? 20)
    })
  }

  /** Sends what is gathered now; resolves when every event published so far is acknowledged (or failed). */
  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
    const batch = this.#pending.splice(0)
    if (batch.length > 0) {
      this.#sending = this.#sending.then(async () => {
        try {
          await this.#producer.send({ topic: this.#o.topic, acks: -1, messages: batch.map((p) => p.message) })
          for (const p of batch) p.resolve()
        } catch (err) {
          const e = wrapError('MAIF_ERR_KAFKA_PRODUCE', `the broker did not acknowledge ${batch.length} agent events for topic ${this.#o.topic}`, err)
          for (const p of batch) p.reject(e)
        }
      })
    }
    return this.#sending
  }

  /** Flushes and disconnects. */
  async close(): Promise<void> {
    await this.flush()
    await this.#producer.disconnect()
  }
}
