// Kafka connection settings shared by the Kafka source and sink: brokers (a list or "h1:p1,h2:p2"), client
// id, and SSL/SASL passed through to kafkajs as given. kafkajs's own logs go to the run's logger at warn and
// above only, and never carry a SASL password (kafkajs does not log credentials; we never log the options).
import { z } from 'zod'
import type * as KafkaJs from 'kafkajs'
import type { Kafka, KafkaConfig, LogEntry, SASLOptions } from 'kafkajs'
import { lazyModule } from '../lazy-module.js'
import type { Logger } from 'pino'
import { MaifError } from '../errors.js'

const hostPort = z.string().regex(/^[^\s,:]+:\d{1,5}$/, 'a broker is host:port')

/** The connection options of a Kafka component (strict: a misspelt key is an error). */
export const kafkaConnectionShape = {
  brokers: z.union([z.array(hostPort).min(1), z.string().min(1)]).describe('brokers as a list of host:port, or one string "h1:p1,h2:p2"'),
  clientId: z.string().min(1).describe('client id the brokers see (default maif)').optional(),
  ssl: z.union([z.boolean(), z.looseObject({})]).describe('true, or tls.connect options (ca, cert, key, rejectUnauthorized …), passed to kafkajs').optional(),
  sasl: z.strictObject({
    mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
    username: z.string().min(1),
    password: z.string(),
  }).describe('SASL authentication, passed to kafkajs').optional(),
  connectionTimeout: z.int().min(1).describe('ms to wait for a broker connection (kafkajs default 1000)').optional(),
  requestTimeout: z.int().min(1).describe('ms to wait for a broker response (kafkajs default 30000)').optional(),
}

export interface KafkaConnectionOptions {
  brokers: string[] | string
  clientId?: string | undefined
  ssl?: boolean | Record<string, unknown> | undefined
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string } | undefined
  connectionTimeout?: number | undefined
  requestTimeout?: number | undefined
}

/** Brokers as a list: "h1:p1, h2:p2" and ["h1:p1"] alike; refuses an entry that is not host:port. */
export function parseBrokers(brokers: string[] | string): string[] {
  const list = (Array.isArray(brokers) ? brokers : brokers.split(',')).map((b) => b.trim()).filter(Boolean)
  const bad = list.find((b) => !hostPort.safeParse(b).success)
  if (list.length === 0 || bad !== undefined) {
    throw new MaifError('MAIF_ERR_INVALID_OPTION', `brokers must be host:port entries (a list, or "h1:p1,h2:p2"), got '${bad ?? String(brokers)}'`)
  }
  return list
}

/** kafkajs, loaded when a Kafka component first connects. */
export const kafkajs = lazyModule<typeof KafkaJs>('kafkajs')

/** A kafkajs client for these options, logging to `logger`. */
export function kafkaClient(o: KafkaConnectionOptions, logger: Logger | undefined, retry?: { retries: number; initialRetryTime: number; maxRetryTime: number }): Kafka {
  const { Kafka, logLevel } = kafkajs()
  const config: KafkaConfig = {
    clientId: o.clientId ?? 'maif',
    brokers: parseBrokers(o.brokers),
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...rest } = entry.log
      const fields = { kafka: entry.namespace, broker: rest.broker, error: rest.error }
      if (entry.level <= logLevel.ERROR) logger?.error(fields, message)
      else logger?.warn(fields, message)
    },
    ...(o.ssl === undefined ? {} : { ssl: o.ssl as KafkaConfig['ssl'] }),
    ...(o.sasl === undefined ? {} : { sasl: o.sasl as SASLOptions }),
    ...(o.connectionTimeout === undefined ? {} : { connectionTimeout: o.connectionTimeout }),
    ...(o.requestTimeout === undefined ? {} : { requestTimeout: o.requestTimeout }),
    ...(retry ? { retry } : {}),
  }
  // kafkajs prints a one-time partitioner notice on stdout-less consoles; the sink picks its partitioner explicitly.
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1'
  return new Kafka(config)
}
