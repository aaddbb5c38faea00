// Run observability: one set of plain counters (RunMetrics) that the engine increments, and three
// read-only views of it: a progress bar or progress log lines, a pino logger, and a Prometheus
// endpoint. The views pull from the counters when they render, so the hot path stays a `+=`.

import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pino, type Logger } from 'pino'
import type CliProgress from 'cli-progress'
import type * as PromClient from 'prom-client'
import { createRequire } from 'node:module'
import { MaifError, wrapError } from '../errors.js'

export interface StageCounters {
  stage: string
  label: string
  recordsIn: number
  recordsOut: number
  bytesIn: number
  bytesOut: number
  errors: number
  retries: number
  latencyMsTotal: number
  latencyCount: number
}

/** Progress of one partition of a partitioned source (a Kafka topic-partition, named "topic/partition"). */
export interface PartitionCounters {
  partition: string
  records: number
  bytes: number
  /** Messages after the last one read, when it was read (high watermark - offset - 1). */
  lag: number
  /** The offset last committed for it (the next one to read), or null before the first commit. */
  committed: number | null
  /** Records a container sink did not write again on resume: its last checkpoint already held their offsets. */
  skipped: number
}

export interface MetricsSnapshot {
  pipeline: string
  startedAt: string
  elapsedMs: number
  source: { records: number; bytes: number; files: number; totalBytes: number | null }
  delivered: number
  deadLetters: number
  inFlight: number
  stages: StageCounters[]
  /** Per partition of a partitioned source (empty for others). */
  partitions: PartitionCounters[]
  rate: { recordsPerSec: number; bytesPerSec: number }
  etaMs: number | null
}

// Labels the metrics themselves use; a constant label with one of these names would be ambiguous.
const RESERVED_LABELS = new Set(['pipeline', 'stage', 'label', 'direction'])
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

export class RunMetrics {
  readonly pipeline: string
  /** Constant labels added to every Prometheus series (e.g. env, instance). */
  readonly labels: Readonly<Record<string, string>>
  readonly source: { records: number; bytes: number; files: number; totalBytes: number | null } = {
    records: 0,
    bytes: 0,
    files: 0,
    totalBytes: null,
  }
  delivered = 0
  deadLetters = 0
  /** Records a stage discarded on purpose (filters); without it they would look in flight forever. */
  dropped = 0
  private readonly stages = new Map<string, StageCounters>()
  private readonly partitions = new Map<string, PartitionCounters>()
  private readonly now: () => number
  private readonly startMs: number

  constructor(pipeline: string, labels: Record<string, string> = {}, opts: { now?: () => number } = {}) {
    for (const name of Object.keys(labels)) {
      if (!LABEL_NAME.test(name) || name.startsWith('__') || RESERVED_LABELS.has(name)) {
        throw new MaifError('MAIF_ERR_INVALID_OPTION', `metrics label "${name}" is not a valid, unreserved Prometheus label name`)
      }
    }
    this.pipeline = pipeline
    this.labels = { ...labels }
    this.now = opts.now ?? Date.now
    this.startMs = this.now()
  }

  stage(stage: string, label: string = stage): StageCounters {
    // NUL cannot appear in a stage name from YAML, so the pair maps to one key unambiguously.
    const key = `${stage}\0${label}`
    let c = this.stages.get(key)
    if (c === undefined) {
      c = { stage, label, recordsIn: 0, recordsOut: 0, bytesIn: 0, bytesOut: 0, errors: 0, retries: 0, latencyMsTotal: 0, latencyCount: 0 }
      this.stages.set(key, c)
    }
    return c
  }

  /** The counters of one source partition (created on first use). */
  partition(name: string): PartitionCounters {
    let c = this.partitions.get(name)
    if (c === undefined) {
      c = { partition: name, records: 0, bytes: 0, lag: 0, committed: null, skipped: 0 }
      this.partitions.set(name, c)
    }
    return c
  }

  observeLatency(c: StageCounters, ms: number): void {
    // A wall clock stepping backwards must not corrupt the mean or crash the run: drop the sample.
    if (!Number.isFinite(ms) || ms < 0) return
    c.latencyMsTotal += ms
    c.latencyCount++
  }

  snapshot(): MetricsSnapshot {
    const elapsedMs = Math.max(0, this.now() - this.startMs)
    const secs = elapsedMs / 1000
    const recordsPerSec = secs > 0 ? this.source.records / secs : 0
    const bytesPerSec = secs > 0 ? this.source.bytes / secs : 0
    const total = this.source.totalBytes
    // ETA needs a known total and some observed throughput; a rate of 0 would mean "forever".
    const etaMs = total !== null && bytesPerSec > 0 ? (Math.max(0, total - this.source.bytes) / bytesPerSec) * 1000 : null
    return {
      pipeline: this.pipeline,
      startedAt: new Date(this.startMs).toISOString(),
      elapsedMs,
      source: { ...this.source },
      delivered: this.delivered,
      deadLetters: this.deadLetters,
      inFlight: Math.max(0, this.source.records - this.delivered - this.deadLetters - this.dropped),
      stages: [...this.stages.values()].map((c) => ({ ...c })),
      partitions: [...this.partitions.values()].map((c) => ({ ...c })),
      rate: { recordsPerSec, bytesPerSec },
      etaMs,
    }
  }
}

// Key material and record payloads must never reach a log sink. fast-redact has no recursive
// wildcard, so key fields are covered at the top level and one object down. Payload fields only at
// the top level: nested `records` is also the name of a counter (snapshot.source.records).
const SECRET_FIELDS = ['key', 'masterKey', 'privateKey', 'dataKey', 'plaintext', 'raw']
export const REDACT_PATHS: readonly string[] = [...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`]), 'record', 'records']

/** pino logger to stderr (fd 2) by default; redacts key material and payload fields (REDACT_PATHS). */
export function createLogger(opts: { level?: string; destination?: NodeJS.WritableStream | number; name?: string } = {}): Logger {
  const dest = opts.destination ?? 2
  // Synchronous writes to a descriptor: a CLI that exits on an error must not lose its last lines.
  const stream = typeof dest === 'number' ? pino.destination({ dest, sync: true }) : dest
  return pino(
    {
      name: opts.name ?? 'maif',
      level: opts.level ?? 'info',
      redact: { paths: [...REDACT_PATHS], censor: '[Redacted]' },
    },
    stream,
  )
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
function formatBytes(n: number): string {
  let v = n
  let i = 0
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024
    i++
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${UNITS[i]}`
}

function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const mmss = `${String(m).padStart(h > 0 ? 2 : 1, '0')}:${String(s % 60).padStart(2, '0')}`
  return h > 0 ? `${h}:${mmss}` : mmss
}

const MAX_BAR = 30
const MIN_BAR = 10

/**
 * One progress line from a snapshot, at most `width` columns. The bar (and percentage) appears only
 * when the input size is known, and is the first thing to shrink or go on a narrow terminal so the
 * counters and the ETA stay readable.
 */
export function formatProgressLine(s: MetricsSnapshot, width = 80): string {
  const parts: string[] = []
  const total = s.source.totalBytes
  parts.push(`${s.source.records.toLocaleString('en-US')} records`)
  parts.push(total !== null ? `${formatBytes(s.source.bytes)} / ${formatBytes(total)}` : formatBytes(s.source.bytes))
  parts.push(`${Math.round(s.rate.recordsPerSec).toLocaleString('en-US')} rec/s ${formatBytes(Math.round(s.rate.bytesPerSec))}/s`)
  if (s.etaMs !== null) parts.push(`ETA ${formatDuration(s.etaMs)}`)
  if (s.deadLetters > 0) parts.push(`${s.deadLetters} dead-lettered`)
  const text = parts.join(' | ')
  if (total === null || total <= 0) return text.slice(0, width)
  const frac = Math.min(1, s.source.bytes / total)
  const pct = `${Math.floor(frac * 100)}%`
  // "[" + bar + "] " + pct + " | " + text
  const barWidth = Math.min(MAX_BAR, width - text.length - pct.length - 6)
  if (barWidth < MIN_BAR) return `${pct} | ${text}`.slice(0, width)
  const full = Math.round(frac * barWidth)
  return `[${'█'.repeat(full)}${'░'.repeat(barWidth - full)}] ${pct} | ${text}`
}

/**
 * Progress: on a TTY a cli-progress bar (records, bytes, rate, ETA when totalBytes is known), else a
 * pino info line `progress` with the snapshot fields every intervalMs (default 200 on a TTY, 5000
 * otherwise). stop() renders the final state once; later calls do nothing.
 */
export function startProgress(
  metrics: RunMetrics,
  opts: { stream?: NodeJS.WriteStream; logger: Logger; intervalMs?: number; tty?: boolean },
): { stop(): void } {
  const stream = opts.stream ?? process.stderr
  const tty = opts.tty ?? stream.isTTY === true
  const intervalMs = opts.intervalMs ?? (tty ? 200 : 5000)

  if (!tty) {
    const log = (final: boolean): void => opts.logger.info({ ...metrics.snapshot(), final }, 'progress')
    const timer = setInterval(() => log(false), intervalMs)
    // Progress reporting alone must never keep the process alive.
    timer.unref()
    return stopOnce(() => {
      clearInterval(timer)
      log(true)
    })
  }

  // cli-progress only supplies the terminal handling (cursor, redraw, width); the line itself is
  // formatted from our snapshot so the bar, the logs and /metrics can never disagree.
  // Loaded only for a terminal's bar (CommonJS, so the same module an import would give).
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof CliProgress
  const bar = new cliProgress.SingleBar({
    stream,
    format: (_options, params, payload: { snap?: MetricsSnapshot }) => {
      return payload.snap === undefined ? '' : formatProgressLine(payload.snap, params.maxWidth)
    },
    fps: Math.max(1, Math.min(10, 1000 / intervalMs)),
    hideCursor: true,
    // The bar must not swallow Ctrl-C: the engine owns signal handling and calls stop().
    gracefulExit: false,
  })
  const update = (): void => {
    const snap = metrics.snapshot()
    bar.update(snap.source.bytes, { snap })
  }
  const first = metrics.snapshot()
  bar.start(first.source.totalBytes ?? 0, first.source.bytes, { snap: first })
  const timer = setInterval(update, intervalMs)
  timer.unref()
  return stopOnce(() => {
    clearInterval(timer)
    update()
    bar.stop()
  })
}

/** stop() renders the final state once, however often it is called. */
function stopOnce(fn: () => void): { stop(): void } {
  let stopped = false
  return {
    stop() {
      if (stopped) return
      stopped = true
      fn()
    },
  }
}

type Labels = Record<string, string>
type Sample = [Labels, number]

/**
 * Prometheus /metrics endpoint (prom-client with a private Registry, so two runs in one process or
 * an embedding application's own metrics never collide). Every value is read from `metrics` when
 * scraped; the counters are reset and refilled on each scrape, so they mirror RunMetrics exactly.
 */
export async function startPrometheus(
  metrics: RunMetrics,
  opts: { port?: number; host?: string } = {},
): Promise<{ port: number; url: string; close(): Promise<void> }> {
  // prom-client is loaded only when an endpoint is asked for: it took some 16 ms of every run's start-up.
  const { Counter, Gauge, Registry } = createRequire(import.meta.url)('prom-client') as typeof PromClient
  const registry = new Registry()
  registry.setDefaultLabels({ ...metrics.labels })
  const pipeline = metrics.pipeline
  const stageLabels = ['pipeline', 'stage', 'label'] as const
  const perStage = (pick: (c: StageCounters) => number): Sample[] =>
    metrics.snapshot().stages.map((c) => [{ pipeline, stage: c.stage, label: c.label }, pick(c)])
  const inOut = (pickIn: (c: StageCounters) => number, pickOut: (c: StageCounters) => number): Sample[] =>
    metrics.snapshot().stages.flatMap((c): Sample[] => [
      [{ pipeline, stage: c.stage, label: c.label, direction: 'in' }, pickIn(c)],
      [{ pipeline, stage: c.stage, label: c.label, direction: 'out' }, pickOut(c)],
    ])

  const counter = (name: string, help: string, labelNames: readonly string[], read: () => Sample[]): void => {
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset()
        for (const [labels, v] of read()) this.inc(labels, v)
      },
    })
  }
  counter('maif_stage_records_total', 'Records into and out of each stage', [...stageLabels, 'direction'], () =>
    inOut((c) => c.recordsIn, (c) => c.recordsOut),
  )
  counter('maif_stage_bytes_total', 'Bytes into and out of each stage', [...stageLabels, 'direction'], () =>
    inOut((c) => c.bytesIn, (c) => c.bytesOut),
  )
  counter('maif_stage_errors_total', 'Errors raised by each stage', stageLabels, () => perStage((c) => c.errors))
  counter('maif_stage_retries_total', 'Retries attempted by each stage', stageLabels, () => perStage((c) => c.retries))
  counter('maif_records_delivered_total', 'Records acknowledged by the sink', ['pipeline'], () => [[{ pipeline }, metrics.delivered]])
  counter('maif_dead_letters_total', 'Records sent to the dead-letter sink', ['pipeline'], () => [[{ pipeline }, metrics.deadLetters]])
  counter('maif_source_records_total', 'Records read from the source', ['pipeline'], () => [[{ pipeline }, metrics.source.records]])
  counter('maif_source_bytes_total', 'Bytes read from the source', ['pipeline'], () => [[{ pipeline }, metrics.source.bytes]])
  // Partitioned sources (Kafka): throughput is rate() of these counters; lag and committed offsets are gauges.
  const perPartition = (pick: (c: PartitionCounters) => number | null): Sample[] =>
    metrics.snapshot().partitions.flatMap((c): Sample[] => { const v = pick(c); return v === null ? [] : [[{ pipeline, partition: c.partition }, v]] })
  counter('maif_source_partition_records_total', 'Records read from each source partition', ['pipeline', 'partition'], () => perPartition((c) => c.records))
  counter('maif_source_partition_bytes_total', 'Bytes read from each source partition', ['pipeline', 'partition'], () => perPartition((c) => c.bytes))
  counter('maif_source_partition_skipped_total', 'Records of each partition not written again on resume (already inside the container\'s last checkpoint)', ['pipeline', 'partition'], () => perPartition((c) => c.skipped))
  const gauge = (name: string, help: string, read: () => Sample[]): void => {
    new Gauge({ name, help, labelNames: ['pipeline', 'partition'], registers: [registry], collect() { this.reset(); for (const [l, v] of read()) this.set(l, v) } })
  }
  gauge('maif_source_partition_lag', 'Messages after the last one read from each partition, when it was read', () => perPartition((c) => c.lag))
  gauge('maif_source_partition_committed_offset', 'The offset last committed for each partition (the next to read)', () => perPartition((c) => c.committed))
  // Only totals are kept (no per-record samples), so the honest export is the run's mean latency.
  new Gauge({
    name: 'maif_stage_latency_seconds',
    help: 'Mean per-record latency of each stage over the run',
    labelNames: stageLabels,
    registers: [registry],
    collect() {
      this.reset()
      for (const c of metrics.snapshot().stages) {
        if (c.latencyCount > 0) this.set({ pipeline, stage: c.stage, label: c.label }, c.latencyMsTotal / c.latencyCount / 1000)
      }
    },
  })

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
      return
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(err)}\n`),
    )
  })

  const host = opts.host ?? '127.0.0.1'
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(wrapError('MAIF_ERR_IO', `cannot listen for metrics on ${host}:${opts.port ?? 0}`, err)))
    server.listen(opts.port ?? 0, host, () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  const urlHost = host.includes(':') ? `[${host}]` : host
  return {
    port,
    url: `http://${urlHost}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(wrapError('MAIF_ERR_IO', 'cannot close the metrics server', err)) : resolve()))
        // Scrapers keep connections alive; without this close() would wait for them to time out.
        server.closeAllConnections()
      }),
  }
}
