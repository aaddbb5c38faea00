// A loopback Splunk HTTP Event Collector for tests: `POST /services/collector/event` (and `/services/collector`)
// with `Authorization: Splunk <token>`, bodies of concatenated JSON event objects (gzip allowed), the HEC answers
// `{ text, code }` (0 success, 2 token required, 4 invalid token, 5 no data, 6 invalid data format with
// `invalid-event-number`, 9 server busy, 10 data channel missing, 12/13 event field missing/blank), and indexer
// acknowledgement: with acks on, a request needs `X-Splunk-Request-Channel`, gets an `ackId`, and
// `POST /services/collector/ack` answers `{ acks: { id: bool } }` once the events are indexed. A request with an
// invalid event is refused whole (nothing of it is indexed): the conservative reading of HEC, which some
// versions do not follow (they index the events before it); the sink never relies on either.
// Tests inject busy answers (503), invalid events, indexing delays, lost acknowledgements and outages.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { gunzipSync } from 'node:zlib'
import { listenLoopback } from './loopback-http.js'

export interface HecEvent { time?: number; host?: string; source?: string; sourcetype?: string; index?: string; event: unknown; fields?: Record<string, unknown> }

export interface HecFaults {
  /** Answer this many next event requests with 503 Server is busy (code 9). */
  busy?: number
  /** An event for which this returns true is invalid (code 6). */
  invalid?: (e: HecEvent) => boolean
  /** Indexing (acknowledgement) takes this long after a request (ms). */
  ackDelayMs?: number
  /** The next this many requests are indexed but their acknowledgements never turn true (lost on an indexer). */
  loseAcks?: number
  down?: boolean
}

export interface SplunkHecServer {
  url: string
  token: string
  /** Indexed events, in arrival order. */
  events: HecEvent[]
  faults: HecFaults
  requests: Array<{ path: string; headers: IncomingMessage['headers']; events: number }>
  ackPolls: number
  close(): Promise<void>
}

/** Splits a body of concatenated JSON values; throws with the index of the first that does not parse. */
export function splitConcatenated(text: string): unknown[] {
  const out: unknown[] = []
  let i = 0
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i]!)) i++
    if (i >= text.length) break
    if (text[i] !== '{') throw Object.assign(new Error('Invalid data format'), { index: out.length })
    let depth = 0
    let inStr = false
    let j = i
    for (; j < text.length; j++) {
      const c = text[j]!
      if (inStr) {
        if (c === '\\') j++
        else if (c === '"') inStr = false
      } else if (c === '"') inStr = true
      else if (c === '{' || c === '[') depth++
      else if (c === '}' || c === ']') {
        depth--
        if (depth === 0) break
      }
    }
    try {
      out.push(JSON.parse(text.slice(i, j + 1)))
    } catch {
      throw Object.assign(new Error('Invalid data format'), { index: out.length })
    }
    i = j + 1
  }
  return out
}

export async function startSplunkHec(opts: { token?: string; acks?: boolean } = {}): Promise<SplunkHecServer> {
  const token = opts.token ?? '11111111-2222-3333-4444-555555555555'
  const events: HecEvent[] = []
  const faults: HecFaults = {}
  const requests: SplunkHecServer['requests'] = []
  /** channel → ackId → indexed? */
  const channels = new Map<string, Map<number, { ready: number; lost: boolean }>>()
  let nextAck = 0
  let ackPolls = 0

  const reply = (res: ServerResponse, status: number, body: Record<string, unknown>): void => {
    const text = JSON.stringify(body)
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) })
    res.end(text)
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    let data = Buffer.concat(chunks)
    if (req.headers['content-encoding'] === 'gzip') data = gunzipSync(data)
    const url = new URL(req.url ?? '/', 'http://localhost')
    const auth = req.headers.authorization
    if (!auth) return reply(res, 401, { text: 'Token is required', code: 2 })
    if (!auth.startsWith('Splunk ')) return reply(res, 401, { text: 'Invalid authorization', code: 3 })
    if (auth.slice(7) !== token) return reply(res, 403, { text: 'Invalid token', code: 4 })
    const channel = (req.headers['x-splunk-request-channel'] as string | undefined) ?? url.searchParams.get('channel') ?? undefined
    if (url.pathname === '/services/collector/ack') {
      if (!opts.acks) return reply(res, 400, { text: 'ACK is disabled', code: 14 })
      if (!channel) return reply(res, 400, { text: 'Data channel is missing', code: 10 })
      ackPolls++
      const ids = (JSON.parse(data.toString('utf8')) as { acks: number[] }).acks
      const ch = channels.get(channel)
      const now = Date.now()
      return reply(res, 200, { acks: Object.fromEntries(ids.map((id) => { const a = ch?.get(id); return [String(id), !!a && !a.lost && a.ready <= now] })) })
    }
    if (url.pathname !== '/services/collector/event' && url.pathname !== '/services/collector' && url.pathname !== '/services/collector/event/1.0') return reply(res, 404, { text: 'The requested URL was not found on this server.', code: 404 })
    if (opts.acks && !channel) return reply(res, 400, { text: 'Data channel is missing', code: 10 })
    if (faults.busy && faults.busy > 0) {
      faults.busy--
      return reply(res, 503, { text: 'Server is busy', code: 9 })
    }
    const text = data.toString('utf8')
    if (text.trim() === '') return reply(res, 400, { text: 'No data', code: 5 })
    let parsed: unknown[]
    try {
      parsed = splitConcatenated(text)
    } catch (err) {
      return reply(res, 400, { text: 'Invalid data format', code: 6, 'invalid-event-number': (err as { index: number }).index })
    }
    for (const [i, e] of parsed.entries()) {
      const ev = e as HecEvent
      if (!('event' in (ev as object))) return reply(res, 400, { text: 'Event field is required', code: 12, 'invalid-event-number': i })
      if (ev.event === '' || ev.event === null) return reply(res, 400, { text: 'Event field cannot be blank', code: 13, 'invalid-event-number': i })
      if (faults.invalid?.(ev)) return reply(res, 400, { text: 'Invalid data format', code: 6, 'invalid-event-number': i })
    }
    requests.push({ path: url.pathname, headers: req.headers, events: parsed.length })
    events.push(...(parsed as HecEvent[]))
    if (!opts.acks) return reply(res, 200, { text: 'Success', code: 0 })
    const id = nextAck++
    const ch = channels.get(channel!) ?? new Map()
    channels.set(channel!, ch)
    const lost = (faults.loseAcks ?? 0) > 0
    if (lost) faults.loseAcks!--
    ch.set(id, { ready: Date.now() + (faults.ackDelayMs ?? 0), lost })
    return reply(res, 200, { text: 'Success', code: 0, ackId: id })
  }

  const http = await listenLoopback(faults, handle, (res, err) => reply(res, 500, { text: `Internal server error: ${err.message}`, code: 8 }))
  return {
    url: http.url,
    token, events, faults, requests,
    get ackPolls() { return ackPolls },
    close: () => http.close(),
  }
}
