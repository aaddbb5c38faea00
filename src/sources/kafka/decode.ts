// Kafka messages of one partition batch → one envelope. jsonl: each message value is one JSON record,
// kept byte for byte unless it spans lines (then it is re-serialised compactly, since a line record cannot
// hold a newline); text: each value is one UTF-8 line; binary: each value is one object, with its topic,
// partition, offset, key and mapped headers as metadata. A value that cannot be decoded is returned as a
// rejection (the source sends it to the dead letters with topic, partition and offset) and never stops the
// partition.
import type { KafkaMessage } from 'kafkajs'
import type { Batch, BinaryPiece } from '../../core/runtime/types.js'

export type KafkaFormat = 'jsonl' | 'text' | 'binary'

/** Which message headers name the agent and the trace (first match wins). */
export const AGENT_HEADERS = ['agent-id', 'agent_id', 'agentId', 'x-agent-id'] as const
export const TRACE_HEADERS = ['trace-id', 'trace_id', 'traceId', 'traceparent', 'x-trace-id'] as const

/** What the source's acknowledgement token holds: enough to commit exactly what is durable. */
export interface KafkaToken {
  topic: string
  partition: number
  /** Offset of each record of the envelope, by ordinal (decimal strings: offsets are 64-bit). */
  offsets: string[]
  /** The last offset of the Kafka batch, dead-lettered messages included (null: a release, nothing to commit). */
  last: string | null
  /** Which ownership of the partition read it: offsets read before the partition was lost are never committed. */
  epoch: number
}

export interface Rejection { offset: string; reason: string; raw: Buffer }

export interface Decoded { batch: Batch; rejected: Rejection[]; bytes: number }

/** Options for the record metadata of line formats: the field a JSON record gets its Kafka coordinates in. */
export interface DecodeOptions { format: KafkaFormat; metaField?: string | undefined }

const utf8 = new TextDecoder('utf-8', { fatal: true })

function header(m: KafkaMessage, names: readonly string[]): string | undefined {
  for (const n of names) {
    const v = m.headers?.[n]
    const one = Array.isArray(v) ? v[0] : v
    if (one !== undefined && one !== null) return Buffer.isBuffer(one) ? one.toString('utf8') : String(one)
  }
  return undefined
}

/** The Kafka coordinates and mapped headers of a message, as record metadata. */
export function metadataOf(topic: string, partition: number, m: KafkaMessage): Record<string, unknown> {
  const agent = header(m, AGENT_HEADERS)
  const trace = header(m, TRACE_HEADERS)
  return {
    topic, partition, offset: m.offset, timestamp: m.timestamp,
    ...(m.key ? { key: m.key.toString('utf8') } : {}),
    ...(agent === undefined ? {} : { agentId: agent }),
    ...(trace === undefined ? {} : { traceId: trace }),
  }
}

export function decodeBatch(topic: string, partition: number, messages: readonly KafkaMessage[], last: string, epoch: number, o: DecodeOptions): Decoded {
  const offsets: string[] = []
  const rejected: Rejection[] = []
  let bytes = 0
  const token = (): KafkaToken => ({ topic, partition, offsets, last, epoch })
  const route = { topic, partition: String(partition) }
  // The offsets by record ordinal: the same array the token keeps (appended to below, before the batch leaves).
  const positions = { stream: `${topic}/${partition}`, at: offsets }
  if (o.format === 'binary') {
    const pieces: BinaryPiece[] = []
    for (const m of messages) {
      if (!m.value) { rejected.push({ offset: m.offset, reason: 'the message has no value (a tombstone)', raw: Buffer.alloc(0) }); continue }
      bytes += m.value.length
      offsets.push(m.offset)
      pieces.push({ data: m.value, name: `${topic}/${partition}/${m.offset}`, meta: metadataOf(topic, partition, m), last: true })
    }
    return { batch: { kind: 'binary', format: 'binary', pieces, count: pieces.length, ack: token(), route, positions }, rejected, bytes }
  }
  const lines: Buffer[] = []
  for (const m of messages) {
    const v = m.value
    if (!v || v.length === 0) { rejected.push({ offset: m.offset, reason: 'the message has no value', raw: Buffer.alloc(0) }); continue }
    bytes += v.length
    let text: string
    try {
      text = utf8.decode(v)
    } catch {
      rejected.push({ offset: m.offset, reason: 'the value is not valid UTF-8', raw: v })
      continue
    }
    let line: Buffer = v
    if (o.format === 'jsonl') {
      let parsed: unknown
      try {
        parsed = JSON.parse(text)
      } catch (err) {
        rejected.push({ offset: m.offset, reason: `the value is not JSON: ${(err as Error).message}`, raw: v })
        continue
      }
      if (o.metaField !== undefined) {
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
          rejected.push({ offset: m.offset, reason: `the value is not a JSON object, so it cannot take the '${o.metaField}' field`, raw: v })
          continue
        }
        line = Buffer.from(JSON.stringify({ ...(parsed as Record<string, unknown>), [o.metaField]: metadataOf(topic, partition, m) }))
      } else if (/[\r\n]/.test(text)) {
        line = Buffer.from(JSON.stringify(parsed))
      }
    } else if (/[\r\n]/.test(text)) {
      rejected.push({ offset: m.offset, reason: 'a text record cannot contain a line break', raw: v })
      continue
    }
    offsets.push(m.offset)
    lines.push(line, NL)
  }
  return { batch: { kind: 'lines', format: o.format === 'jsonl' ? 'json' : 'text', data: Buffer.concat(lines), count: offsets.length, ack: token(), route, positions }, rejected, bytes }
}

const NL = Buffer.from('\n')
