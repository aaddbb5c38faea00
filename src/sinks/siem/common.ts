// Options and error triage the SIEM sinks share.
import { z } from 'zod'

/** Retry options of every SIEM sink; unset ones come from the pipeline's `retry` policy (at least 5 attempts). */
export const retryOptions = {
  maxAttempts: z.number().int().min(1).max(100).optional().describe('attempts per event, and per failing request, before dead-lettering the event (or failing the run on an outage)'),
  initialMs: z.number().int().min(0).optional().describe('first backoff (ms); later ones double, with full jitter'),
  maxMs: z.number().int().min(0).optional().describe('longest backoff (ms)'),
}

const CONNECTION = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT'])

/** Whether a network error is a connection failure (worth retrying). */
export function connectionFailure(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && CONNECTION.has(code)) return true
  }
  return false
}

/** Whether an AWS SDK error is worth retrying: throttling, 5xx, or no answer at all. */
export function awsTransient(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown }
  if (e.$retryable) return true
  if (/Throttl|TooManyRequests|ServiceUnavailable|RequestTimeout|InternalFailure/i.test(e.name ?? '')) return true
  const status = e.$metadata?.httpStatusCode
  if (status !== undefined) return status >= 500 || status === 429
  return connectionFailure(err) || e.name === 'TimeoutError'
}
