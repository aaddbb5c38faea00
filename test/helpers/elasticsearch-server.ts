// A loopback Elasticsearch server for tests, faithful to what the official client and a bulk sink rely on:
// the `x-elastic-product: Elasticsearch` header on every answer, JSON content types, NDJSON `_bulk` with one
// item per action and its own status (201 created, 409 on `create` of an existing id, 400 for a document that
// does not parse), gzip request bodies, index templates, `_count`, `_search` and `_doc`, and the error shape
// `{ error: { type, reason, root_cause }, status }`. Tests inject per-item 429s and 400s, whole-request 5xx,
// 401 without the expected credentials, and outages (connections dropped).
import type { IncomingMessage, ServerResponse } from 'node:http'
import { gunzipSync } from 'node:zlib'
import { listenLoopback } from './loopback-http.js'

export interface BulkAction { op: string; index: string; id: string | undefined; source: string | undefined }

export interface EsFaults {
  /** Answer this many item-level 429s (es_rejected_execution_exception) to the next write items. */
  throttleItems?: number
  /** Items whose source matches get a 400 document_parsing_exception. */
  rejectDoc?: (source: string) => string | null
  /** Answer this many next requests to `_bulk` with this status (502, 503, 500, 429). */
  failRequests?: { count: number; status: number }
  /** Drop every connection (an outage) while true. */
  down?: boolean
}

export interface EsRequestLog { method: string; path: string; headers: IncomingMessage['headers']; bytes: number }

export interface ElasticsearchServer {
  url: string
  /** index → id → source text (exactly as sent). */
  indices: Map<string, Map<string, string>>
  templates: Map<string, unknown>
  requests: EsRequestLog[]
  faults: EsFaults
  /** Every bulk action received, including refused ones. */
  actions: BulkAction[]
  docs(index: string): string[]
  close(): Promise<void>
}

const PRODUCT = { 'x-elastic-product': 'Elasticsearch' }
const JSON_TYPE = 'application/vnd.elasticsearch+json;compatible-with=8'

function send(res: ServerResponse, status: number, body: unknown, method = 'GET'): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { ...PRODUCT, 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(text) })
  res.end(method === 'HEAD' ? undefined : text)
}

function error(res: ServerResponse, status: number, type: string, reason: string, method = 'GET'): void {
  send(res, status, { error: { root_cause: [{ type, reason }], type, reason }, status }, method)
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  const raw = Buffer.concat(chunks)
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw
}

export interface EsServerOptions {
  /** Require this Authorization header (e.g. `Basic …` or `ApiKey …`); others get 401. */
  authorization?: string
}

/** Starts the server on a free loopback port; `t.teardown(server.close)`. */
export async function startElasticsearch(opts: EsServerOptions = {}): Promise<ElasticsearchServer> {
  const indices = new Map<string, Map<string, string>>()
  const templates = new Map<string, unknown>()
  const requests: EsRequestLog[] = []
  const actions: BulkAction[] = []
  const faults: EsFaults = {}
  let autoId = 0

  const bulk = (text: string, defaultIndex: string | undefined): { took: number; errors: boolean; items: unknown[] } => {
    const lines = text.split('\n')
    if (lines[lines.length - 1] !== '') throw Object.assign(new Error('The bulk request must be terminated by a newline [\\n]'), { status: 400, type: 'illegal_argument_exception' })
    lines.pop()
    const items: unknown[] = []
    for (let i = 0; i < lines.length; i++) {
      let action: Record<string, { _index?: string; _id?: string }>
      try {
        action = JSON.parse(lines[i]!) as typeof action
      } catch {
        throw Object.assign(new Error(`Malformed action/metadata line [${i + 1}]`), { status: 400, type: 'illegal_argument_exception' })
      }
      const op = Object.keys(action)[0]!
      const meta = action[op]!
      const index = meta._index ?? defaultIndex
      if (!index) throw Object.assign(new Error('index is missing'), { status: 400, type: 'action_request_validation_exception' })
      const source = op === 'delete' ? undefined : lines[++i]
      actions.push({ op, index, id: meta._id, source })
      const id = meta._id ?? `auto-${++autoId}`
      const item = (status: number, extra: Record<string, unknown>): void => { items.push({ [op]: { _index: index, _id: id, status, ...extra } }) }
      if (faults.throttleItems && faults.throttleItems > 0) {
        faults.throttleItems--
        item(429, { error: { type: 'es_rejected_execution_exception', reason: 'rejected execution of coordinating operation [coordinating_and_primary_bytes=0, max_coordinating_and_primary_bytes=0]' } })
        continue
      }
      let parsed: unknown
      try {
        parsed = source === undefined ? undefined : JSON.parse(source)
      } catch {
        item(400, { error: { type: 'document_parsing_exception', reason: '[1:1] failed to parse: not a JSON object' } })
        continue
      }
      if (source !== undefined && (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))) {
        item(400, { error: { type: 'document_parsing_exception', reason: '[1:1] failed to parse: the document is not an object' } })
        continue
      }
      const why = source === undefined ? null : faults.rejectDoc?.(source) ?? null
      if (why !== null) {
        item(400, { error: { type: 'document_parsing_exception', reason: why } })
        continue
      }
      const docs = indices.get(index) ?? new Map<string, string>()
      indices.set(index, docs)
      if (op === 'create') {
        if (docs.has(id)) {
          item(409, { error: { type: 'version_conflict_engine_exception', reason: `[${id}]: version conflict, document already exists (current version [1])` } })
          continue
        }
        docs.set(id, source!)
        item(201, { result: 'created', _version: 1 })
      } else if (op === 'index') {
        const existed = docs.has(id)
        docs.set(id, source!)
        item(existed ? 200 : 201, { result: existed ? 'updated' : 'created' })
      } else if (op === 'delete') {
        item(docs.delete(id) ? 200 : 404, { result: 'deleted' })
      } else {
        item(400, { error: { type: 'illegal_argument_exception', reason: `unsupported action [${op}]` } })
      }
    }
    return { took: 1, errors: items.some((it) => Object.values(it as Record<string, { status: number }>)[0]!.status >= 300), items }
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const method = req.method ?? 'GET'
    const data = await body(req)
    requests.push({ method, path: url.pathname, headers: req.headers, bytes: data.length })
    if (opts.authorization && req.headers.authorization !== opts.authorization) {
      res.setHeader('www-authenticate', 'Basic realm="security" charset="UTF-8"')
      return error(res, 401, 'security_exception', 'missing authentication credentials for REST request', method)
    }
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent)
    if (parts.length === 0) return send(res, 200, { name: 'loopback', cluster_name: 'maif-test', version: { number: '8.19.0', build_flavor: 'default' }, tagline: 'You Know, for Search' }, method)
    if (parts[0] === '_index_template' && parts[1]) {
      const name = parts[1]
      if (method === 'PUT' || method === 'POST') {
        templates.set(name, JSON.parse(data.toString('utf8')))
        return send(res, 200, { acknowledged: true })
      }
      if (!templates.has(name)) return method === 'HEAD' ? send(res, 404, {}, method) : error(res, 404, 'resource_not_found_exception', `index template matching [${name}] not found`)
      return send(res, 200, { index_templates: [{ name, index_template: templates.get(name) }] }, method)
    }
    const isBulk = parts[parts.length - 1] === '_bulk'
    if (isBulk && (method === 'POST' || method === 'PUT')) {
      const ct = String(req.headers['content-type'] ?? '')
      if (!/application\/(x-ndjson|vnd\.elasticsearch\+x-ndjson)/.test(ct)) return error(res, 406, 'media_type_header_exception', `Content-Type header [${ct}] is not supported`)
      if (faults.failRequests && faults.failRequests.count > 0) {
        faults.failRequests.count--
        const s = faults.failRequests.status
        return error(res, s, s === 429 ? 'es_rejected_execution_exception' : s === 503 ? 'unavailable_shards_exception' : 'internal_server_error', 'injected failure')
      }
      try {
        return send(res, 200, bulk(data.toString('utf8'), parts.length === 2 ? parts[0] : undefined))
      } catch (err) {
        const e = err as Error & { status: number; type: string }
        return error(res, e.status ?? 400, e.type ?? 'parse_exception', e.message)
      }
    }
    const index = parts[0]!
    const docs = indices.get(index)
    if (parts[1] === '_count') {
      if (!docs) return error(res, 404, 'index_not_found_exception', `no such index [${index}]`)
      return send(res, 200, { count: docs.size, _shards: { total: 1, successful: 1, skipped: 0, failed: 0 } })
    }
    if (parts[1] === '_search') {
      if (!docs) return error(res, 404, 'index_not_found_exception', `no such index [${index}]`)
      const hits = [...docs].map(([id, s]) => ({ _index: index, _id: id, _score: 1, _source: JSON.parse(s) as unknown }))
      return send(res, 200, { took: 1, timed_out: false, hits: { total: { value: hits.length, relation: 'eq' }, max_score: 1, hits } })
    }
    if (parts[1] === '_doc' && parts[2]) {
      const s = docs?.get(parts[2])
      if (s === undefined) return send(res, 404, { _index: index, _id: parts[2], found: false }, method)
      return send(res, 200, { _index: index, _id: parts[2], _version: 1, found: true, _source: JSON.parse(s) as unknown }, method)
    }
    return error(res, 405, 'illegal_argument_exception', `Incorrect HTTP method for uri [${url.pathname}] and method [${method}]`)
  }

  const http = await listenLoopback(faults, handle, (res, err) => error(res, 500, 'exception', err.message))
  return {
    url: http.url,
    indices, templates, requests, faults, actions,
    docs: (index) => [...(indices.get(index)?.values() ?? [])],
    close: () => http.close(),
  }
}
