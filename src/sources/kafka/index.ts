// Source `kafka`: a consumer-group member reading topics (names or /patterns/) as JSONL, text or binary
// records. An offset is committed only after every record up to it is durable in every output; undecodable
// messages go to the dead letters with their topic, partition and offset. It runs until the pipeline is
// stopped (SIGTERM): then it hands on what it has taken, the outputs flush and checkpoint, the durable
// offsets are committed, and the member leaves the group.
import { z } from 'zod'
import { kafkaClient, kafkaConnectionShape, parseBrokers } from '../../core/kafka/config.js'
import { defineSource } from '../../core/runtime/component.js'
import type { SourceInstance } from '../../core/runtime/types.js'
import { KafkaReader } from './consumer.js'
import type { KafkaToken } from './decode.js'

/** "/agent-.*\/i" → a RegExp; any other string is a topic name. */
export function topicPattern(s: string): string | RegExp {
  const m = /^\/(.+)\/([a-z]*)$/.exec(s)
  return m ? new RegExp(m[1]!, m[2]) : s
}

export const kafkaSource = defineSource({
  type: 'kafka',
  description: 'consume Kafka topics as a consumer-group member; offsets are committed once records are durable in every output',
  options: {
    ...kafkaConnectionShape,
    topics: z.array(z.string().min(1)).min(1).describe('topic names, or /regular expressions/ matching topic names'),
    groupId: z.string().min(1).describe('the consumer group: workers with the same group split the partitions'),
    fromBeginning: z.boolean().describe('a group with no committed offset starts at the earliest message (default: the latest)').optional(),
    format: z.enum(['jsonl', 'text', 'binary']).describe('jsonl: each message is one JSON record; text: one text line; binary: one object'),
    metadataField: z.string().min(1).describe('jsonl only: add this field to each record with its topic, partition, offset, key, agentId and traceId (from headers)').optional(),
    consumer: z.strictObject({
      sessionTimeout: z.int().min(1).optional(),
      rebalanceTimeout: z.int().min(1).optional(),
      heartbeatInterval: z.int().min(1).optional(),
      maxWaitTimeInMs: z.int().min(0).optional(),
      maxBytesPerPartition: z.int().min(1).optional(),
    }).describe('kafkajs consumer settings (ms, bytes); kafkajs defaults otherwise').optional(),
    commitIntervalMs: z.int().min(0).describe('commit durable offsets at most this often (default 0: after every checkpoint); a graceful stop always commits').optional(),
    queue: z.int().min(1).max(64).describe('partition batches held between Kafka and the pipeline (default 4)').optional(),
  },
  refine(v, ctx) {
    try {
      parseBrokers(v.brokers)
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['brokers'], message: (err as Error).message })
    }
    for (const [i, t] of v.topics.entries()) {
      try {
        topicPattern(t)
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['topics', i], message: `not a valid /pattern/: ${(err as Error).message}` })
      }
    }
    if (v.metadataField !== undefined && v.format !== 'jsonl') {
      ctx.addIssue({ code: 'custom', path: ['metadataField'], message: 'metadataField needs format jsonl (binary records carry their metadata already)' })
    }
  },
  lint({ self, transforms, sinks, report }) {
    if (self.options.format === 'binary') {
      for (const t of transforms) {
        if (t.stage === 'record') report({ rule: 'source/binary-record-stage', path: t.path, message: `'${t.type}' works on line records, and binary input has none`, hint: `remove '${t.type}', or read the topic as jsonl or text` })
      }
      for (const s of sinks) {
        if (s.type !== 'container') report({ rule: 'source/binary-sink', path: s.path, message: `binary input can only go to container sinks, not '${s.type}'`, hint: 'write binary messages into a container' })
      }
    }
  },
  build(o, ctx): SourceInstance {
    const kafka = kafkaClient(o, ctx.logger, { retries: ctx.retry.maxAttempts, initialRetryTime: ctx.retry.initialMs, maxRetryTime: ctx.retry.maxMs })
    const reader = new KafkaReader(kafka, {
      groupId: o.groupId, topics: o.topics.map(topicPattern), fromBeginning: o.fromBeginning ?? false, format: o.format,
      metaField: o.metadataField, queue: o.queue ?? 4, commitIntervalMs: o.commitIntervalMs ?? 0, ...o.consumer,
    }, ctx.stop, (d) => ctx.deadLetter(d), ctx.logger, ctx.metrics)
    return {
      batches: () => reader.batches(),
      commit: (progress) => reader.commit(progress),
      stats: () => ({ records: reader.stats.records, bytes: reader.stats.bytes }),
      locate(token, ordinal) {
        const t = token as KafkaToken
        return { topic: t.topic, partition: t.partition, offset: t.offsets[ordinal] }
      },
      close: () => reader.close(),
    }
  },
})
