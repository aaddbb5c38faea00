// Audit events: what, when, where, source, outcome and identity (NIST SP 800-53 AU-3), with the Elastic Common
// Schema's names (`event.action`, `event.outcome`, `user.id`, `host.name`, …), a classification label,
// framework tags, and integrity fields: a per-log `event.sequence`, the previous event's hash
// (`maif.audit.prev_hash`) and the event's own hash (`event.hash`, ECS's field for log integrity). One
// AuditLogger is one log: its events chain from sequence 0. The hash is SHA-256 over the RFC 8785 canonical
// JSON of the event without `event.hash`, so any change to any field breaks the chain.
// Events never carry secrets or record contents: fields whose names say secret, token, password, key material
// or plaintext are refused, and records are described by count and digest only.
import { createHash, getFips, randomUUID } from 'node:crypto'
import { hostname, userInfo } from 'node:os'
import canonicalize from 'canonicalize'
import { MaifError } from '../errors.js'

export const ECS_VERSION = '8.11.0'
export const ZERO_HASH = '0'.repeat(64)

/** Classification labels, lowest first. */
export const CLASSIFICATIONS = ['UNCLASSIFIED', 'CONFIDENTIAL', 'SECRET', 'TOP SECRET'] as const
export type Classification = (typeof CLASSIFICATIONS)[number]

export type Outcome = 'success' | 'failure' | 'unknown'

/** The controls each kind of action gives evidence for (NIST SP 800-53 rev. 5). */
const CONTROLS: Record<string, string[]> = {
  'pipeline.': ['AU-2', 'AU-3', 'AU-12'],
  'records.': ['AU-2', 'AU-3', 'AU-10'],
  'container.verify': ['AU-9', 'SI-7'],
  'container.decrypt': ['SC-28', 'AC-3'],
  'container.recover': ['AU-9', 'CP-10', 'SI-7'],
  'container.': ['AU-2', 'AU-3'],
  'access.': ['AC-3', 'AC-16'],
}

function frameworkTags(action: string, extra: readonly string[] = []): string[] {
  const out = new Set<string>(['nist-800-53:AU-3'])
  for (const [prefix, controls] of Object.entries(CONTROLS)) if (action.startsWith(prefix)) for (const c of controls) out.add(`nist-800-53:${c}`)
  for (const t of extra) out.add(t)
  return [...out].sort()
}

/** What a caller says about one event; the logger adds when, where, identity, sequence and hashes. */
export interface AuditInput {
  /** Verb, dotted: `container.verify`, `records.ingest`, `access.denied`. */
  action: string
  outcome: Outcome
  /** ECS event.category values (iam, file, database, configuration, authentication, …). */
  category?: string[]
  /** ECS event.type values (creation, access, deletion, info, denied, allowed, …). */
  type?: string[]
  /** Why, in words (a failure's reason, or what was decided). */
  reason?: string
  error?: { code: string; message?: string }
  /** The object acted on: a container path and id, its tree size and root. */
  file?: { path: string }
  maif?: Record<string, unknown>
  classification?: Classification
  /** More framework tags (`pci-dss:10.2.1`, …). */
  tags?: string[]
}

export interface AuditEvent {
  '@timestamp': string
  ecs: { version: string }
  event: { id: string; kind: 'event'; action: string; category: string[]; type: string[]; outcome: Outcome; reason?: string; sequence: number; provider: 'maif'; dataset: 'maif.audit'; hash: string }
  user: { id: string; name?: string }
  host: { name: string }
  process: { pid: number; title: string }
  service: { name: 'maif'; version: string }
  error?: { code: string; message?: string }
  file?: { path: string }
  labels: { classification: Classification; fips_mode: 'true' | 'false' }
  tags: string[]
  maif: { audit: { log_id: string; prev_hash: string }; [k: string]: unknown }
}

const SECRET_NAME = /pass(word|phrase)?|secret|token|private|api[-_]?key|credential|plaintext|payload|key[-_]?material|^dek$|^key$/i

/** Refuses an event field tree that names a secret or plaintext (AU-3: record the event, never the data). */
export function assertNoSecrets(value: unknown, path = 'maif'): void {
  if (value === null || typeof value !== 'object') return
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (SECRET_NAME.test(k)) throw new MaifError('MAIF_ERR_AUDIT', `audit field ${path}.${k} would record a secret or plaintext; audit events describe data by count and digest only`)
    assertNoSecrets(v, `${path}.${k}`)
  }
}

/** The hash of an event: SHA-256 (hex) of the canonical JSON of the event without `event.hash`. */
export function eventHash(e: AuditEvent): string {
  const { hash: _omit, ...event } = e.event
  return createHash('sha256').update(canonicalize({ ...e, event }) ?? '').digest('hex')
}

export interface AuditLoggerOptions {
  /** Who acts: user.id (default the OS user name). */
  user?: string
  classification?: Classification
  /** Framework tags added to every event. */
  tags?: string[]
  /** maif's version, for service.version. */
  version?: string
  /** Receives each event as it is made (a pipeline stage, a file, a SIEM). */
  write?: (e: AuditEvent) => void
  /** Continue a log: its id, the next sequence and the last event's hash. */
  resume?: { logId: string; sequence: number; prevHash: string }
  now?: () => Date
}

/** One audit log: events in sequence, each chained to the one before. */
export class AuditLogger {
  readonly logId: string
  #seq: number
  #prev: string
  readonly #o: AuditLoggerOptions
  readonly #user: string
  readonly #host = hostname()

  constructor(o: AuditLoggerOptions = {}) {
    this.#o = o
    this.logId = o.resume?.logId ?? randomUUID()
    this.#seq = o.resume?.sequence ?? 0
    this.#prev = o.resume?.prevHash ?? ZERO_HASH
    this.#user = o.user ?? process.env.MAIF_USER ?? safeUser()
  }

  get sequence(): number {
    return this.#seq
  }

  emit(input: AuditInput): AuditEvent {
    if (!/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/.test(input.action)) throw new MaifError('MAIF_ERR_AUDIT', `audit action '${input.action}' must be dotted lower-case words, e.g. container.verify`)
    assertNoSecrets(input.maif)
    const e: AuditEvent = {
      '@timestamp': (this.#o.now?.() ?? new Date()).toISOString(),
      ecs: { version: ECS_VERSION },
      event: {
        id: randomUUID(), kind: 'event', action: input.action,
        category: input.category ?? ['file'], type: input.type ?? ['info'], outcome: input.outcome,
        ...(input.reason ? { reason: input.reason } : {}),
        sequence: this.#seq, provider: 'maif', dataset: 'maif.audit', hash: '',
      },
      user: { id: this.#user },
      host: { name: this.#host },
      process: { pid: process.pid, title: process.title },
      service: { name: 'maif', version: this.#o.version ?? '0.1.0' },
      ...(input.error ? { error: input.error } : {}),
      ...(input.file ? { file: input.file } : {}),
      labels: { classification: input.classification ?? this.#o.classification ?? 'UNCLASSIFIED', fips_mode: getFips() === 1 ? 'true' : 'false' },
      tags: frameworkTags(input.action, [...(this.#o.tags ?? []), ...(input.tags ?? [])]),
      maif: { ...(input.maif ?? {}), audit: { log_id: this.logId, prev_hash: this.#prev } },
    }
    e.event.hash = eventHash(e)
    this.#seq++
    this.#prev = e.event.hash
    this.#o.write?.(e)
    return e
  }
}

function safeUser(): string {
  try {
    return userInfo().username
  } catch {
    return `uid:${process.getuid?.() ?? 'unknown'}`
  }
}

export interface AuditChainIssue { logId: string; sequence: number | null; message: string }

export interface AuditChainReport {
  ok: boolean
  events: number
  logs: Array<{ logId: string; events: number; first: number; last: number }>
  issues: AuditChainIssue[]
}

/**
 * Checks audit events one at a time, in the order they were stored: each log's sequence runs 0, 1, 2, …
 * without gaps, each event names the hash of the one before, and each event's hash matches its fields.
 * Holds one entry per log, never the events.
 */
export class AuditChainVerifier {
  readonly #logs = new Map<string, { events: number; first: number; last: number; prev: string }>()
  readonly #issues: AuditChainIssue[] = []
  #n = 0

  add(raw: unknown): void {
    this.#n++
    const e = raw as AuditEvent
    const logId = e?.maif?.audit?.log_id
    const seq = e?.event?.sequence
    const issues = this.#issues
    if (typeof logId !== 'string' || typeof seq !== 'number' || typeof e.event.hash !== 'string') {
      issues.push({ logId: String(logId ?? '?'), sequence: typeof seq === 'number' ? seq : null, message: 'not an audit event (no maif.audit.log_id, event.sequence or event.hash)' })
      return
    }
    let log = this.#logs.get(logId)
    if (!log) {
      log = { events: 0, first: seq, last: seq - 1, prev: e.maif.audit.prev_hash }
      this.#logs.set(logId, log)
      if (seq !== 0) issues.push({ logId, sequence: seq, message: `the log starts at sequence ${seq}, not 0: its first events are missing` })
      else if (log.prev !== ZERO_HASH) issues.push({ logId, sequence: seq, message: 'the first event names a previous hash' })
    } else if (seq !== log.last + 1) {
      issues.push({ logId, sequence: seq, message: seq <= log.last ? `sequence ${seq} repeats or goes back (last was ${log.last})` : `events ${log.last + 1}..${seq - 1} are missing` })
    } else if (e.maif.audit.prev_hash !== log.prev) {
      issues.push({ logId, sequence: seq, message: 'the previous-hash link does not match the event before it' })
    }
    if (eventHash(e) !== e.event.hash) issues.push({ logId, sequence: seq, message: 'the event was changed after it was written (its hash does not match its fields)' })
    log.events++
    log.last = seq
    log.prev = e.event.hash
  }

  report(): AuditChainReport {
    return { ok: this.#issues.length === 0, events: this.#n, logs: [...this.#logs].map(([logId, l]) => ({ logId, events: l.events, first: l.first, last: l.last })), issues: [...this.#issues] }
  }
}

/** verifyAuditChain over a list (see AuditChainVerifier). */
export function verifyAuditChain(events: Iterable<unknown>): AuditChainReport {
  const v = new AuditChainVerifier()
  for (const e of events) v.add(e)
  return v.report()
}
