// Sink `kafka`: publishes line records to a topic, one message per record, with a key and headers taken from
// JSON fields, in produce requests of bounded size, with acks -1 (every in-sync replica) and the pipeline's
// retries. A write resolves only once the broker has acknowledged every message of it, so the engine
// acknowledges the source (a cursor, Kafka offsets) only after the broker did. The producer is idempotent by
// default: a retried request is never written twice.
import type { Message, Producer } from 'kafkajs'
import { z } from 'zod'
import { MaifError, wrapError } from '../core/errors.js'
import { kafkaClient, kafkaConnectionShape, kafkajs, parseBrokers } from '../core/kafka/config.js'
import { defineSink } from '../core/runtime/component.js'
import type { Batch, SinkInstance } from '../core/runtime/types.js'

const FIELD = z.string().regex(/^[A-Za-z_$][\w$-]*(\.[A-Za-z_$][\w$-]*)*$/, 'a field name, or a dotted path such as meta.agent')

/** The value at a dotted path of a JSON record, as a string (objects as JSON); undefined when absent. */
function field(rec: unknown, path: string): string | undefined {
  let v: unknown = rec
  for (const k of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined
    v = (v as Record<string, unknown>)[k]
  }
  if (v === undefined || v === null) return undefined
  return typeof v === 'string' ? v : JSON.stringify(v)
}

export const kafkaSink = defineSink({
  type: 'kafka',
  acknowledgements: 'write',
  description: 'publish records to a Kafka topic (acks -1, idempotent); acknowledged once the broker has them',
  options: {
    ...kafkaConnectionShape,
    topic: z.string().min(1).describe('the topic to publish to'),
    keyField: FIELD.describe('JSON records: the field whose value is the message key (same key, same partition)').optional(),
    headers: z.record(z.string(), z.string()).describe('headers set on every message').optional(),
    headerFields: z.record(z.string(), FIELD).describe('JSON records: header name → field, e.g. { agent-id: agent_id, trace-id: trace.id }').optional(),
    compression: z.enum(['none', 'gzip']).describe('compression of produce requests (default none)').optional(),
    idempotent: z.boolean().describe('idempotent producer: retries never duplicate (default true)').optional(),
    maxMessageBytes: z.int().min(1).describe('a record larger than this goes to the dead letters (default 1000000, the broker default)').optional(),
    batchBytes: z.int().min(1).describe('bytes per produce request (default 524288)').optional(),
    batchCount: z.int().min(1).describe('messages per produce request (default 1000)').optional(),
  },
  refine(v, ctx) {
    try {
      parseBrokers(v.brokers)
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['brokers'], message: (err as Error).message })
    }
  },
  build(o, ctx): SinkInstance {
    const kafka = kafkaClient(o, ctx.logger, { retries: ctx.retry.maxAttempts, initialRetryTime: ctx.retry.initialMs, maxRetryTime: ctx.retry.maxMs })
    const idempotent = o.idempotent ?? true
    const maxMessage = o.maxMessageBytes ?? 1_000_000
    const batchBytes = o.batchBytes ?? ctx.batching.bytes ?? 512 << 10
    const batchCount = o.batchCount ?? ctx.batching.count ?? 1000
    const compression = o.compression === 'gzip' ? kafkajs().CompressionTypes.GZIP : kafkajs().CompressionTypes.None
    const parseJson = o.keyField !== undefined || o.headerFields !== undefined
    let producer: Producer | null = null
    let requests = 0
    const connect = async (): Promise<Producer> => {
      if (producer) return producer
      const p = kafka.producer({ idempotent, createPartitioner: kafkajs().Partitioners.DefaultPartitioner, ...(idempotent ? { maxInFlightRequests: 1 } : {}) })
      try {
        await p.connect()
      } catch (err) {
        throw wrapError('MAIF_ERR_KAFKA_CONNECT', `cannot connect a producer to ${parseBrokers(o.brokers).join(',')}`, err)
      }
      return (producer = p)
    }
    const send = async (messages: Message[]): Promise<void> => {
      if (messages.length === 0) return
      const p = await connect()
      try {
        await p.send({ topic: o.topic, acks: -1, compression, messages })
      } catch (err) {
        throw wrapError('MAIF_ERR_KAFKA_PRODUCE', `the broker did not acknowledge ${messages.length} records for topic ${o.topic}`, err)
      }
      requests++
    }
    return {
      async write(b: Batch) {
        if (b.kind !== 'lines') throw new MaifError('MAIF_ERR_RECORD', `the kafka sink publishes line records, not binary objects (topic ${o.topic})`)
        const messages: Message[] = []
        let bytes = 0
        let start = 0
        for (let i = 0; i < b.count; i++) {
          const end = b.data.indexOf(10, start)
          const value = b.data.subarray(start, end)
          start = end + 1
          if (value.length > maxMessage) {
            ctx.deadLetter({ code: 'MAIF_ERR_RECORD_TOO_LARGE', reason: `the record is ${value.length} bytes, more than maxMessageBytes ${maxMessage}`, raw: value, at: { batch: b, record: i } })
            continue
          }
          const m: Message = { value }
          if (parseJson && b.format === 'json') {
            const rec: unknown = JSON.parse(value.toString('utf8'))
            if (o.keyField !== undefined) {
              const key = field(rec, o.keyField)
              if (key !== undefined) m.key = key
            }
            const headers: Record<string, string> = { ...o.headers }
            for (const [h, f] of Object.entries(o.headerFields ?? {})) {
              const v = field(rec, f)
              if (v !== undefined) headers[h] = v
            }
            if (Object.keys(headers).length) m.headers = headers
          } else if (o.headers) {
            m.headers = { ...o.headers }
          }
          if (messages.length > 0 && (messages.length >= batchCount || bytes + value.length > batchBytes)) {
            await send(messages.splice(0))
            bytes = 0
          }
          messages.push(m)
          bytes += value.length
        }
        await send(messages)
      },
      async close() {
        const p = producer
        producer = null
        await p?.disconnect()
      },
      async destroy() {
        const p = producer
        producer = null
        await p?.disconnect().catch(() => undefined)
      },
      describe: () => ({ path: `kafka:${o.topic}`, commits: requests }),
    }
  },
})
