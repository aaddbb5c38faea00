// Pipeline counters as CloudWatch Embedded Metric Format (`observability.cloudwatch.format: emf`): one JSON
// line per publish, to a file or to stdout ('-'), which the CloudWatch agent, Lambda or ECS's awslogs driver
// turn into metrics without an API call (and without the CloudWatch SDK being loaded). Same counters, deltas
// and dimensions as PutMetricData (cloudwatch-metrics.ts). A line that cannot be written is logged; metrics
// never fail a run.
import { appendFileSync } from 'node:fs'
import type { Logger } from 'pino'
import type { RunMetrics } from './observability.js'
import type { CloudWatchMetricsHandle } from './cloudwatch-metrics.js'

export interface EmfMetricsOptions {
  namespace: string
  dimensions?: Record<string, string>
  intervalMs?: number
  /** A file to append to, or '-' for stdout (default). */
  path?: string
  logger?: Logger | undefined
}

const METRICS = [
  { Name: 'RecordsIn', Unit: 'Count' },
  { Name: 'Delivered', Unit: 'Count' },
  { Name: 'DeadLetters', Unit: 'Count' },
  { Name: 'BytesIn', Unit: 'Bytes' },
] as const

export function startEmfMetrics(metrics: RunMetrics, o: EmfMetricsOptions): CloudWatchMetricsHandle {
  const dims: Record<string, string> = { Pipeline: metrics.pipeline, ...(o.dimensions ?? {}) }
  let last = { RecordsIn: 0, Delivered: 0, DeadLetters: 0, BytesIn: 0 }
  let published = 0
  const publish = (): void => {
    const s = metrics.snapshot()
    const now = { RecordsIn: s.source.records, Delivered: s.delivered, DeadLetters: s.deadLetters, BytesIn: s.source.bytes }
    const line = JSON.stringify({
      _aws: { Timestamp: Date.now(), CloudWatchMetrics: [{ Namespace: o.namespace, Dimensions: [Object.keys(dims)], Metrics: METRICS }] },
      ...dims,
      RecordsIn: now.RecordsIn - last.RecordsIn, Delivered: now.Delivered - last.Delivered,
      DeadLetters: now.DeadLetters - last.DeadLetters, BytesIn: now.BytesIn - last.BytesIn,
    }) + '\n'
    try {
      if (o.path === undefined || o.path === '-') process.stdout.write(line)
      else appendFileSync(o.path, line)
      last = now
      published += METRICS.length
    } catch (err) {
      o.logger?.warn({ err: (err as Error).message, path: o.path }, 'writing EMF metrics failed; the next line carries these counts')
    }
  }
  const timer = setInterval(publish, o.intervalMs ?? 60_000)
  timer.unref()
  return {
    async stop() {
      clearInterval(timer)
      publish()
    },
    get published() { return published },
  }
}
