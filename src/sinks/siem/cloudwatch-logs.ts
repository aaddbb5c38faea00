// Sink `cloudwatch-logs`: records as CloudWatch Logs events through PutLogEvents. Requests are planned within
// the documented limits, which the service enforces and test servers do not: at most 10,000 events and
// 1,048,576 bytes (UTF-8 message bytes + 26 per event), events of at most 256 KiB, in chronological order,
// spanning less than 24 hours. Events the service rejects (too old, too new, expired: rejectedLogEventsInfo)
// go to the dead letters with that reason; throttling and outages are retried with backoff.
import { isUtf8 } from 'node:buffer'
import type * as CloudWatchLogs from '@aws-sdk/client-cloudwatch-logs'
import type { CreateLogGroupCommand, InputLogEvent, RejectedLogEventsInfo } from '@aws-sdk/client-cloudwatch-logs'
import { z } from 'zod'
import { awsClientConfig, awsOptionsSchema } from '../../core/aws/config.js'
import { MaifError, wrapError } from '../../core/errors.js'
import { lazyModule } from '../../core/lazy-module.js'
import { defineSink } from '../../core/runtime/component.js'
import { DeliverySink, deliveryRetry, type ItemOutcome, type Pending, type ServiceAdapter } from './delivery.js'
import { awsTransient, retryOptions } from './common.js'

/** PutLogEvents limits (CloudWatch Logs API reference). */
/** The CloudWatch Logs SDK, loaded when a sink of this kind is built. */
const cloudwatchLogs = lazyModule<typeof CloudWatchLogs>('@aws-sdk/client-cloudwatch-logs')

export const CWL_LIMITS = {
  maxEvents: 10_000,
  maxBatchBytes: 1_048_576,
  perEventOverhead: 26,
  maxEventBytes: 262_144,
  /** A batch must span less than this (ms). */
  maxSpanMs: 24 * 60 * 60 * 1000,
} as const

const DAY = 24 * 60 * 60 * 1000

/** The bytes an event counts for in a PutLogEvents batch. */
export function logEventBytes(e: InputLogEvent): number {
  return Buffer.byteLength(e.message ?? '', 'utf8') + CWL_LIMITS.perEventOverhead
}

/**
 * Splits events into PutLogEvents requests: sorted by timestamp (stable, so equal times keep input order),
 * then cut before an event that would break the count, the byte total, or the 24-hour span.
 */
export function planLogEvents<T extends { event: InputLogEvent }>(items: readonly T[]): T[][] {
  const sorted = items.map((it, i) => ({ it, i })).sort((a, b) => (a.it.event.timestamp! - b.it.event.timestamp!) || a.i - b.i).map((x) => x.it)
  const out: T[][] = []
  let cur: T[] = []
  let bytes = 0
  for (const it of sorted) {
    const n = logEventBytes(it.event)
    if (cur.length > 0 && (cur.length >= CWL_LIMITS.maxEvents || bytes + n > CWL_LIMITS.maxBatchBytes || it.event.timestamp! - cur[0]!.event.timestamp! >= CWL_LIMITS.maxSpanMs)) {
      out.push(cur)
      cur = []
      bytes = 0
    }
    cur.push(it)
    bytes += n
  }
  if (cur.length > 0) out.push(cur)
  return out
}

/**
 * Which events of a request the service rejected, and why. The API reference calls tooOldLogEventEndIndex
 * both "the last" event and "exclusive", and servers differ, so the event at that index is judged by its own
 * timestamp against the 14-day window. expiredLogEventEndIndex is exclusive; tooNewLogEventStartIndex inclusive.
 */
export function rejectedOutcomes(events: readonly InputLogEvent[], info: RejectedLogEventsInfo | undefined, now = Date.now()): ItemOutcome[] {
  const out: ItemOutcome[] = events.map(() => ({ ok: true }))
  if (!info) return out
  const { tooOldLogEventEndIndex: old, tooNewLogEventStartIndex: fresh, expiredLogEventEndIndex: expired } = info
  for (let i = 0; i < events.length; i++) {
    const ts = events[i]!.timestamp!
    if (old !== undefined && (i < old || (i === old && ts < now - 14 * DAY))) out[i] = { fail: `CloudWatch Logs rejected the event as too old (timestamp ${new Date(ts).toISOString()}; events older than 14 days are refused)` }
    else if (expired !== undefined && i < expired) out[i] = { fail: `CloudWatch Logs rejected the event as older than the log group's retention (timestamp ${new Date(ts).toISOString()})` }
    else if (fresh !== undefined && i >= fresh) out[i] = { fail: `CloudWatch Logs rejected the event as too far in the future (timestamp ${new Date(ts).toISOString()}; more than 2 hours ahead is refused)` }
  }
  return out
}

/** The event time of a record: its `timestampField` (ISO string or epoch milliseconds), else now. */
function eventTime(raw: Buffer, format: 'json' | 'text', field: string): number {
  if (format !== 'json') return Date.now()
  let v: unknown
  try {
    v = JSON.parse(raw.toString('utf8'))
  } catch {
    throw new MaifError('MAIF_ERR_RECORD', 'the record is not valid JSON')
  }
  const t = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[field] : undefined
  if (typeof t === 'number' && Number.isFinite(t)) return Math.trunc(t)
  if (typeof t === 'string') {
    const ms = Date.parse(t)
    if (Number.isFinite(ms)) return ms
  }
  return Date.now()
}

export const cloudwatchLogsSink = defineSink({
  type: 'cloudwatch-logs',
  acknowledgements: 'self',
  description: 'send records to an AWS CloudWatch Logs stream (PutLogEvents), acknowledged once accepted',
  options: {
    logGroup: z.string().min(1).max(512).describe('log group name'),
    logStream: z.string().min(1).max(512).regex(/^[^:*]+$/, 'a log stream name cannot contain : or *').describe('log stream name'),
    create: z.boolean().optional().describe('create the log group and stream when they do not exist (needs logs:CreateLogGroup and logs:CreateLogStream)'),
    timestampField: z.string().min(1).optional().describe('JSON field holding the event time (ISO 8601 or epoch ms); default @timestamp, else the time the sink took the record'),
    aws: awsOptionsSchema.optional(),
    batch: z.strictObject({
      maxEvents: z.number().int().min(1).max(CWL_LIMITS.maxEvents).optional(),
      periodMs: z.number().int().min(0).optional(),
    }).optional().describe('when to send: at most maxEvents (≤ 10,000), and at least every periodMs'),
    ...retryOptions,
  },
  build(o, ctx) {
    const { CloudWatchLogsClient, CreateLogGroupCommand, CreateLogStreamCommand, PutLogEventsCommand } = cloudwatchLogs()
    const client = new CloudWatchLogsClient({ ...awsClientConfig('CLOUDWATCH_LOGS', o.aws ?? {}), maxAttempts: 1 })
    const field = o.timestampField ?? '@timestamp'
    const target = `cloudwatch-logs:${o.logGroup}/${o.logStream}`
    const svc: ServiceAdapter<InputLogEvent> = {
      encode(raw, format) {
        if (!isUtf8(raw)) throw new MaifError('MAIF_ERR_RECORD', 'CloudWatch Logs takes UTF-8 messages; the record is not valid UTF-8')
        const e = { timestamp: eventTime(raw, format, field), message: raw.toString('utf8') }
        if (e.message.length === 0) throw new MaifError('MAIF_ERR_RECORD', 'CloudWatch Logs refuses empty messages')
        const n = logEventBytes(e)
        if (n > CWL_LIMITS.maxEventBytes) throw new MaifError('MAIF_ERR_RECORD_TOO_LARGE', `the event is ${n} bytes with its 26-byte overhead; CloudWatch Logs takes at most ${CWL_LIMITS.maxEventBytes}`)
        return e
      },
      size: logEventBytes,
      plan: (items) => planLogEvents(items),
      async prepare() {
        if (!o.create) return
        for (const cmd of [new CreateLogGroupCommand({ logGroupName: o.logGroup }), new CreateLogStreamCommand({ logGroupName: o.logGroup, logStreamName: o.logStream })]) {
          try {
            await client.send(cmd as CreateLogGroupCommand)
          } catch (err) {
            if ((err as Error).name !== 'ResourceAlreadyExistsException') throw classify(err, target)
          }
        }
      },
      async send(items: Pending<InputLogEvent>[]) {
        const events = items.map((i) => i.event)
        try {
          const res = await client.send(new PutLogEventsCommand({ logGroupName: o.logGroup, logStreamName: o.logStream, logEvents: events }))
          return rejectedOutcomes(events, res.rejectedLogEventsInfo)
        } catch (err) {
          throw awsTransient(err) ? err : classify(err, target)
        }
      },
      transient: awsTransient,
      async close() { client.destroy() },
    }
    return new DeliverySink(svc, {
      maxEvents: o.batch?.maxEvents ?? CWL_LIMITS.maxEvents,
      maxBytes: CWL_LIMITS.maxBatchBytes,
      periodMs: o.batch?.periodMs ?? 5000,
      ...deliveryRetry(o, ctx),
      target,
    }, ctx)
  },
})

/** A permanent AWS error, as a message a person can act on. */
function classify(err: unknown, target: string): MaifError {
  const name = (err as Error).name
  if (name === 'ResourceNotFoundException') return wrapError('MAIF_ERR_SIEM_UNAVAILABLE', `${target}: the log group or stream does not exist (create it, or set create: true)`, err)
  if (/AccessDenied|UnrecognizedClient|InvalidSignature|ExpiredToken|NotAuthorized/i.test(name)) return wrapError('MAIF_ERR_SIEM_AUTH', `${target}: AWS refused the credentials (${name})`, err)
  return wrapError('MAIF_ERR_SIEM_UNAVAILABLE', `${target}: ${name}`, err)
}
