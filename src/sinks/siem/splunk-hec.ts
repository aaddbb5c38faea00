// Sink `splunk-hec`: records as Splunk HTTP Event Collector events (`POST /services/collector/event`, token
// auth, batched concatenated JSON). With `acks: true` a batch counts as stored only once the indexers
// acknowledge it (`/services/collector/ack` on the sink's channel); a batch not acknowledged in time is sent
// again (at least once: Splunk has no idempotent ids, so that can make a copy). 503 "server is busy" and
// outages are retried with backoff. An invalid event (400 with `invalid-event-number`) is dead-lettered with
// HEC's reason and the rest of its batch is sent again.
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { gzipSync } from 'node:zlib'
import { z } from 'zod'
import { MaifError } from '../../core/errors.js'
import { defineSink } from '../../core/runtime/component.js'
import { DeliverySink, deliveryRetry, type ItemOutcome, type Pending, type ServiceAdapter } from './delivery.js'
import { connectionFailure, retryOptions } from './common.js'

interface HecItem { line: string }

/** An HTTP answer that is worth retrying (the request as a whole). */
class HecTransient extends Error {
  override name = 'HecTransient'
}

/** The event time of a JSON record (its `@timestamp`, ISO or epoch ms) in epoch seconds, if it has one. */
function hecTime(parsed: unknown, field: string): number | undefined {
  if (parsed === null || typeof parsed !== 'object') return undefined
  const t = (parsed as Record<string, unknown>)[field]
  const ms = typeof t === 'number' ? t : typeof t === 'string' ? Date.parse(t) : NaN
  return Number.isFinite(ms) ? ms / 1000 : undefined
}

export const splunkHecSink = defineSink({
  type: 'splunk-hec',
  acknowledgements: 'self',
  description: 'send records to a Splunk HTTP Event Collector, acknowledged once accepted (or indexed, with acks: true)',
  options: {
    url: z.url().describe('HEC base URL, e.g. https://splunk.example:8088'),
    token: z.string().min(1).describe('HEC token (use ${ENV} interpolation, never a literal secret)'),
    index: z.string().min(1).optional(),
    source: z.string().min(1).optional(),
    sourcetype: z.string().min(1).optional().describe('default _json'),
    host: z.string().min(1).optional(),
    timestampField: z.string().min(1).optional().describe('JSON field holding the event time; default @timestamp, else HEC stamps the arrival time'),
    acks: z.boolean().optional().describe('use indexer acknowledgement (the token must have it enabled)'),
    channel: z.uuid().optional().describe('request channel for acknowledgements; default a random one per run'),
    ackTimeoutMs: z.number().int().min(1).optional().describe('how long to wait for a batch to be acknowledged before sending it again (default 60,000)'),
    ackPollMs: z.number().int().min(1).optional().describe('how often to ask (default 250)'),
    gzip: z.boolean().optional().describe('gzip request bodies'),
    batch: z.strictObject({
      maxEvents: z.number().int().min(1).max(100_000).optional(),
      maxBytes: z.number().int().min(1024).max(100 * 1024 * 1024).optional(),
      periodMs: z.number().int().min(0).optional(),
    }).optional().describe('when to send: at most maxEvents or maxBytes (default 1,000 and 1 MiB, under HEC\'s max_content_length), at least every periodMs'),
    ...retryOptions,
  },
  build(o, ctx) {
    const base = o.url.replace(/\/+$/, '')
    const channel = o.channel ?? randomUUID()
    const field = o.timestampField ?? '@timestamp'
    const target = `splunk-hec:${new URL(o.url).origin}`
    const headers: Record<string, string> = { authorization: `Splunk ${o.token}`, 'content-type': 'application/json', ...(o.acks ? { 'x-splunk-request-channel': channel } : {}) }
    const meta = { ...(o.host ? { host: o.host } : {}), ...(o.source ? { source: o.source } : {}), sourcetype: o.sourcetype ?? '_json', ...(o.index ? { index: o.index } : {}) }
    const metaJson = JSON.stringify(meta).slice(1, -1)

    const post = async (path: string, body: string): Promise<{ status: number; json: Record<string, unknown> }> => {
      const payload = o.gzip ? gzipSync(body) : body
      let res: Response
      try {
        res = await fetch(base + path, { method: 'POST', headers: { ...headers, ...(o.gzip ? { 'content-encoding': 'gzip' } : {}) }, body: payload, signal: AbortSignal.timeout(30_000) })
      } catch (err) {
        if (connectionFailure(err) || (err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError' || err instanceof TypeError) throw new HecTransient(`${target} did not answer: ${(err as Error).message}`, { cause: err })
        throw err
      }
      const text = await res.text()
      let json: Record<string, unknown> = {}
      try { json = JSON.parse(text) as Record<string, unknown> } catch { json = { text } }
      return { status: res.status, json }
    }
    const refusal = (r: { status: number; json: Record<string, unknown> }): string => `HEC answered ${r.status}: ${String(r.json.text ?? 'no text')} (code ${String(r.json.code ?? '?')})`

    const waitForAck = async (ackId: number): Promise<boolean> => {
      const deadline = Date.now() + (o.ackTimeoutMs ?? 60_000)
      for (;;) {
        const r = await post(`/services/collector/ack?channel=${channel}`, JSON.stringify({ acks: [ackId] }))
        if (r.status === 200) {
          if ((r.json.acks as Record<string, boolean> | undefined)?.[String(ackId)] === true) return true
        } else if (r.status === 503 || r.status >= 500) {
          // busy: keep asking until the deadline
        } else {
          throw new MaifError(r.status === 401 || r.status === 403 ? 'MAIF_ERR_SIEM_AUTH' : 'MAIF_ERR_SIEM_UNAVAILABLE', `${target}: asking for acknowledgements failed: ${refusal(r)}`)
        }
        if (Date.now() >= deadline) return false
        await sleep(o.ackPollMs ?? 250)
      }
    }

    const svc: ServiceAdapter<HecItem> = {
      encode(raw, format) {
        const text = raw.toString('utf8')
        if (format === 'text') {
          if (text.trim() === '') throw new MaifError('MAIF_ERR_RECORD', 'HEC refuses blank events')
          return { line: `{${metaJson},"event":${JSON.stringify(text)}}` }
        }
        let parsed: unknown
        try {
          parsed = JSON.parse(text)
        } catch {
          throw new MaifError('MAIF_ERR_RECORD', 'the record is not valid JSON')
        }
        if (parsed === null || parsed === '') throw new MaifError('MAIF_ERR_RECORD', 'HEC refuses blank events')
        const time = hecTime(parsed, field)
        // The record's own bytes are the event, so what Splunk stores is what was read.
        return { line: `{${time === undefined ? '' : `"time":${time.toFixed(3)},`}${metaJson},"event":${text}}` }
      },
      size: (e) => Buffer.byteLength(e.line) + 1,
      plan: (items) => [items],
      async send(items: Pending<HecItem>[]): Promise<ItemOutcome[]> {
        const r = await post('/services/collector/event', items.map((i) => i.event.line).join('\n'))
        if (r.status === 200 && r.json.code === 0) {
          if (!o.acks) return items.map(() => ({ ok: true }))
          const ackId = r.json.ackId
          if (typeof ackId !== 'number') throw new MaifError('MAIF_ERR_SIEM_UNAVAILABLE', `${target}: acks: true but HEC returned no ackId (enable indexer acknowledgement on the token, or set acks: false)`)
          if (await waitForAck(ackId)) return items.map(() => ({ ok: true }))
          return items.map(() => ({ retry: `not acknowledged by the indexers within ${o.ackTimeoutMs ?? 60_000} ms` }))
        }
        const bad = r.json['invalid-event-number']
        if (r.status === 400 && typeof bad === 'number' && bad >= 0 && bad < items.length) {
          // HEC names the first invalid event; whether it indexed those before it differs between versions,
          // so the others are sent again (at least once) without counting an attempt against them.
          return items.map((_, i) => (i === bad ? { fail: `Splunk HEC refused the event: ${refusal(r)}` } : { retry: 'sent again without the invalid event of its batch', free: true }))
        }
        if (r.status === 401 || r.status === 403) throw new MaifError('MAIF_ERR_SIEM_AUTH', `${target}: ${refusal(r)}`)
        if (r.status === 503 || r.status === 429 || r.status >= 500) throw new HecTransient(`${target}: ${refusal(r)}`)
        throw new MaifError('MAIF_ERR_SIEM_UNAVAILABLE', `${target}: ${refusal(r)}`)
      },
      transient: (err) => err instanceof HecTransient,
    }
    return new DeliverySink(svc, {
      maxEvents: o.batch?.maxEvents ?? 1000,
      maxBytes: o.batch?.maxBytes ?? 1024 * 1024,
      periodMs: o.batch?.periodMs ?? 1000,
      ...deliveryRetry(o, ctx),
      target,
    }, ctx)
  },
})
