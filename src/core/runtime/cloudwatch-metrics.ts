// Pipeline counters to CloudWatch metrics (PutMetricData): records in, delivered, dead letters and bytes in,
// as Count deltas since the last publish, every intervalMs and once at the end, with the dimensions
// `Pipeline` plus the ones the definition names. Metrics are not data: a failed publish is logged and
// retried with the next one, never a reason to fail the run.
import { CloudWatchClient, PutMetricDataCommand, type MetricDatum } from '@aws-sdk/client-cloudwatch'
import type { Logger } from 'pino'
import { awsClientConfig, type AwsOptions } from '../aws/config.js'
import type { RunMetrics } from './observability.js'

export interface CloudWatchMetricsOptions {
  namespace: string
  dimensions?: Record<string, string>
  intervalMs?: number
  aws?: AwsOptions
  logger?: Logger | undefined
}

export interface CloudWatchMetricsHandle {
  /** Publishes what is left and stops. */
  stop(): Promise<void>
  /** Datapoints published so far. */
  readonly published: number
}

export function startCloudWatchMetrics(metrics: RunMetrics, o: CloudWatchMetricsOptions): CloudWatchMetricsHandle {
  // moto (and some proxies) cannot read gzip request bodies; the payloads are small anyway.
  const client = new CloudWatchClient({ ...awsClientConfig('CLOUDWATCH', o.aws ?? {}), disableRequestCompression: true })
  const dims = [{ Name: 'Pipeline', Value: metrics.pipeline }, ...Object.entries(o.dimensions ?? {}).map(([Name, Value]) => ({ Name, Value }))]
  let last = { recordsIn: 0, delivered: 0, deadLetters: 0, bytesIn: 0 }
  let published = 0
  let chain: Promise<void> = Promise.resolve()
  const publish = (): Promise<void> => {
    chain = chain.then(async () => {
      const s = metrics.snapshot()
      const now = { recordsIn: s.source.records, delivered: s.delivered, deadLetters: s.deadLetters, bytesIn: s.source.bytes }
      const at = new Date()
      const data: MetricDatum[] = [
        { MetricName: 'RecordsIn', Value: now.recordsIn - last.recordsIn, Unit: 'Count' },
        { MetricName: 'Delivered', Value: now.delivered - last.delivered, Unit: 'Count' },
        { MetricName: 'DeadLetters', Value: now.deadLetters - last.deadLetters, Unit: 'Count' },
        { MetricName: 'BytesIn', Value: now.bytesIn - last.bytesIn, Unit: 'Bytes' },
      ].map((d) => ({ ...d, Dimensions: dims, Timestamp: at }) as MetricDatum)
      try {
        await client.send(new PutMetricDataCommand({ Namespace: o.namespace, MetricData: data }))
        last = now
        published += data.length
      } catch (err) {
        o.logger?.warn({ err: (err as Error).message, namespace: o.namespace }, 'publishing CloudWatch metrics failed; the next publish carries these counts')
      }
    })
    return chain
  }
  const timer = setInterval(() => { void publish() }, o.intervalMs ?? 60_000)
  timer.unref()
  return {
    async stop() {
      clearInterval(timer)
      await publish()
      client.destroy()
    },
    get published() { return published },
  }
}
