// Sink `elasticsearch`: records as documents through `_bulk` with the official client. Each document is
// sent with `create` and a deterministic id (a JSON field, else the SHA-256 of the record), so a retried or
// replayed record never makes a second copy: a 409 on `create` means it is already stored. Item results follow
// the client's `helpers.bulk`: 429 is retried with backoff, any other status ≥ 400 goes to the dead letters
// with the server's error type and reason. An index template (ECS field types for the audit fields) is put
// before the first request when asked.
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import type * as Elastic from '@elastic/elasticsearch'
import { z } from 'zod'
import { MaifError, wrapError } from '../../core/errors.js'
import { lazyModule } from '../../core/lazy-module.js'
import { defineSink } from '../../core/runtime/component.js'
import { DeliverySink, deliveryRetry, type ItemOutcome, type Pending, type ServiceAdapter } from './delivery.js'
import { retryOptions } from './common.js'

interface EsDoc { id: string; source: string }

/** ECS field types for the fields maif's audit events carry (and that any ECS data shares). */
/** The official client, loaded when a sink of this kind is built. */
const elastic = lazyModule<typeof Elastic>('@elastic/elasticsearch')

export const ECS_MAPPINGS = {
  dynamic: true,
  properties: {
    '@timestamp': { type: 'date' },
    message: { type: 'match_only_text' },
    ecs: { properties: { version: { type: 'keyword' } } },
    event: {
      properties: {
        id: { type: 'keyword' }, action: { type: 'keyword' }, category: { type: 'keyword' }, type: { type: 'keyword' },
        kind: { type: 'keyword' }, outcome: { type: 'keyword' }, reason: { type: 'keyword' }, sequence: { type: 'long' },
        dataset: { type: 'keyword' }, module: { type: 'keyword' }, provider: { type: 'keyword' },
      },
    },
    user: { properties: { id: { type: 'keyword' }, name: { type: 'keyword' } } },
    host: { properties: { name: { type: 'keyword' }, id: { type: 'keyword' } } },
    service: { properties: { name: { type: 'keyword' }, version: { type: 'keyword' } } },
    process: { properties: { pid: { type: 'long' } } },
    source: { properties: { ip: { type: 'ip' } } },
    error: { properties: { code: { type: 'keyword' }, message: { type: 'match_only_text' } } },
    labels: { type: 'object' },
    tags: { type: 'keyword' },
    related: { properties: { hash: { type: 'keyword' }, user: { type: 'keyword' } } },
    hash: { properties: { prev: { type: 'keyword' }, self: { type: 'keyword' } } },
  },
} as const

const authSchema = z.union([
  z.strictObject({ username: z.string().min(1), password: z.string().min(1) }),
  z.strictObject({ apiKey: z.string().min(1) }),
  z.strictObject({ bearer: z.string().min(1) }),
]).describe('credentials: { username, password }, { apiKey } or { bearer } (use ${ENV} interpolation, never literal secrets)')

/** The document id of a record: a JSON field's value when asked and present, else the record's SHA-256. */
export function documentId(raw: Buffer, parsed: unknown, idField: string | undefined): string {
  if (idField && parsed !== null && typeof parsed === 'object') {
    const v = path(parsed as Record<string, unknown>, idField)
    if (typeof v === 'string' && v.length > 0 && Buffer.byteLength(v) <= 512) return v
    if (typeof v === 'number' && Number.isFinite(v)) return String(v)
  }
  return createHash('sha256').update(raw).digest('base64url')
}

/** A field by its flat ECS name (`event.id`) or its nested path ({ event: { id } }). */
function path(o: Record<string, unknown>, name: string): unknown {
  if (name in o) return o[name]
  let cur: unknown = o
  for (const p of name.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = (cur as Record<string, unknown>)[p]
  }
  return cur
}

/** One bulk item's result, as helpers.bulk reads it. */
export function itemOutcome(item: { status?: number; error?: { type?: string; reason?: string | null } } | undefined): ItemOutcome {
  if (!item || typeof item.status !== 'number') return { retry: 'the bulk response has no result for this item' }
  if (item.status < 300) return { ok: true }
  // `create` of an id that exists: an earlier attempt (or run) stored this very record.
  if (item.status === 409 && item.error?.type === 'version_conflict_engine_exception') return { ok: true }
  const why = `${item.status} ${item.error?.type ?? 'error'}: ${item.error?.reason ?? 'no reason given'}`
  if (item.status === 429) return { retry: why }
  return { fail: `Elasticsearch refused the document: ${why}` }
}

export const elasticsearchSink = defineSink({
  type: 'elasticsearch',
  acknowledgements: 'self',
  description: 'index records as Elasticsearch documents (_bulk create, deterministic ids), acknowledged once stored',
  options: {
    node: z.url().describe('Elasticsearch URL, e.g. https://es.example:9200'),
    index: z.string().min(1).max(255).regex(/^[^A-Z\\/*?"<>| ,#:]+$/, 'an index name is lowercase, without \\ / * ? " < > | , # : or spaces').describe('index or data stream to write to'),
    auth: authSchema.optional(),
    idField: z.string().min(1).optional().describe('JSON field (e.g. event.id) whose value is the document id; default: the SHA-256 of the record'),
    template: z.boolean().optional().describe('put an index template (ECS types for audit fields) matching the index before the first request'),
    compression: z.boolean().optional().describe('gzip request bodies'),
    caFile: z.string().min(1).optional().describe('PEM file of the CA that signed the server certificate'),
    batch: z.strictObject({
      maxEvents: z.number().int().min(1).max(100_000).optional(),
      maxBytes: z.number().int().min(1024).max(100 * 1024 * 1024).optional(),
      periodMs: z.number().int().min(0).optional(),
    }).optional().describe('when to send: at most maxEvents documents or maxBytes (default 1,000 and 5 MiB), at least every periodMs'),
    ...retryOptions,
  },
  async build(o, ctx) {
    const ca = o.caFile ? await readFile(resolve(ctx.cwd, o.caFile), 'utf8') : undefined
    const { Client } = elastic()
    const client = new Client({
      node: o.node,
      ...(o.auth ? { auth: o.auth } : {}),
      compression: o.compression ?? false,
      // The delivery core retries, with jitter and dead letters; the transport would retry blind.
      maxRetries: 0,
      requestTimeout: 30_000,
      ...(ca ? { tls: { ca } } : {}),
    })
    const target = `elasticsearch:${new URL(o.node).origin}/${o.index}`
    const svc: ServiceAdapter<EsDoc> = {
      encode(raw, format) {
        if (format === 'text') {
          const source = JSON.stringify({ '@timestamp': new Date().toISOString(), message: raw.toString('utf8') })
          return { id: documentId(raw, undefined, undefined), source }
        }
        let parsed: unknown
        try {
          parsed = JSON.parse(raw.toString('utf8'))
        } catch {
          throw new MaifError('MAIF_ERR_RECORD', 'the record is not valid JSON')
        }
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new MaifError('MAIF_ERR_RECORD', 'an Elasticsearch document must be a JSON object')
        // The record's own bytes are the document, so what is stored is what was read.
        return { id: documentId(raw, parsed, o.idField), source: raw.toString('utf8') }
      },
      size: (d) => Buffer.byteLength(d.source) + d.id.length + o.index.length + 40,
      plan: (items) => [items],
      async prepare() {
        if (!o.template) return
        await client.indices.putIndexTemplate({
          name: `maif-${o.index}`,
          index_patterns: [o.index],
          priority: 200,
          template: { mappings: ECS_MAPPINGS as unknown as Record<string, never> },
          _meta: { managed_by: 'maif' },
        }).catch((err: unknown) => { throw classify(err, target) })
      },
      async send(items: Pending<EsDoc>[]) {
        const operations: Array<string | object> = []
        for (const it of items) operations.push({ create: { _index: o.index, _id: it.event.id } }, it.event.source)
        let res
        try {
          res = await client.bulk({ operations })
        } catch (err) {
          throw svc.transient(err) ? err : classify(err, target)
        }
        if (!Array.isArray(res.items) || res.items.length !== items.length) throw new MaifError('MAIF_ERR_SIEM_UNAVAILABLE', `${target}: the bulk response holds ${res.items?.length ?? 0} items for ${items.length} actions; nothing of it is acknowledged`)
        return res.items.map((i) => itemOutcome(i.create))
      },
      transient(err) {
        if (err instanceof elastic().errors.ResponseError) return err.statusCode === 429 || (err.statusCode ?? 0) >= 500
        return err instanceof elastic().errors.ConnectionError || err instanceof elastic().errors.TimeoutError || err instanceof elastic().errors.NoLivingConnectionsError
      },
      async close() { await client.close() },
    }
    return new DeliverySink(svc, {
      maxEvents: o.batch?.maxEvents ?? 1000,
      maxBytes: o.batch?.maxBytes ?? 5 * 1024 * 1024,
      periodMs: o.batch?.periodMs ?? 1000,
      ...deliveryRetry(o, ctx),
      target,
    }, ctx)
  },
})

function classify(err: unknown, target: string): MaifError {
  if (err instanceof elastic().errors.ResponseError && (err.statusCode === 401 || err.statusCode === 403)) return wrapError('MAIF_ERR_SIEM_AUTH', `${target}: Elasticsearch refused the credentials (${err.statusCode})`, err)
  if (err instanceof elastic().errors.ProductNotSupportedError) return wrapError('MAIF_ERR_SIEM_UNAVAILABLE', `${target}: the server is not Elasticsearch (no x-elastic-product header)`, err)
  return wrapError('MAIF_ERR_SIEM_UNAVAILABLE', `${target}: request failed`, err)
}
