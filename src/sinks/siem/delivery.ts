// The delivery core the SIEM sinks share: it batches records into events, sends them through a service
// adapter, retries what the service asks to retry (per item or the whole request) with exponential backoff
// and full jitter, dead-letters what it refuses for good with the service's reason, and acknowledges records
// to the engine only once every one of them is settled (accepted by the service or in the dead letters).
// Batches go out one at a time, in input order, so the cumulative count it acknowledges is exact.
import { setTimeout as sleep } from 'node:timers/promises'
import { isMaifError, MaifError, wrapError, type ErrorCode } from '../../core/errors.js'
import type { Batch, LinesBatch, SinkBuildContext, SinkInstance } from '../../core/runtime/types.js'

/** What the service said about one event of a request. */
export type ItemOutcome =
  | { ok: true }
  /** Transient (throttled, busy): send it again after a backoff. `free`: not its fault, the attempt is not counted. */
  | { retry: string; free?: boolean }
  /** Permanent: the event goes to the dead letters with this reason. */
  | { fail: string; code?: ErrorCode }

/** One event waiting to be sent, with the record it came from (for dead letters). */
export interface Pending<E> {
  event: E
  /** The record's bytes, without the newline. */
  raw: Buffer
  at: { batch: Batch; record: number }
  attempts: number
}

/** What a sink tells the core about its service. */
export interface ServiceAdapter<E> {
  /** Turns one record into an event; throws a MaifError (MAIF_ERR_RECORD, …) to dead-letter the record. */
  encode(raw: Buffer, format: 'json' | 'text'): E
  /** Bytes an event adds to a request, for the batch size limit. */
  size(event: E): number
  /** Splits what is pending into requests the service accepts (its count, size and span limits). */
  plan(items: Pending<E>[]): Pending<E>[][]
  /** Sends one request; one outcome per item, in order. Throws when the request as a whole failed. */
  send(items: Pending<E>[]): Promise<ItemOutcome[]>
  /** Whether a thrown request error is worth retrying (outage, 5xx, throttling); others fail the run. */
  transient(err: unknown): boolean
  /** Runs once before the first request (create a log group, put an index template). */
  prepare?(): Promise<void>
  close?(): Promise<void>
}

export interface DeliveryOptions {
  /** Send when this many events are pending. */
  maxEvents: number
  /** Send when pending events add up to this many bytes. */
  maxBytes: number
  /** Send what is pending at least this often (ms) while records keep arriving; 0 sends on count and size only. */
  periodMs: number
  /** Attempts per event (and per request) before it is dead-lettered (or the run fails). */
  maxAttempts: number
  initialMs: number
  maxMs: number
  /** Where the sink sends, for messages. */
  target: string
}

export interface DeliveryStats {
  /** Records taken by write(). */
  records: number
  /** Events the service accepted. */
  accepted: number
  /** Records dead-lettered (by encode or by the service). */
  deadLettered: number
  /** Events sent again after a per-item or whole-request failure. */
  retried: number
  /** Requests sent. */
  requests: number
}

/** full jitter (AWS architecture blog): a random wait in [0, min(max, initial·2^(n-1))]. */
export function backoffMs(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1)))
}

/** Splits a line batch into its records (without the newline). */
export function* recordsOf(b: LinesBatch): Generator<Buffer> {
  let start = 0
  for (let k = 0; k < b.count; k++) {
    const end = b.data.indexOf(0x0a, start)
    const stop = end < 0 ? b.data.length : end
    yield b.data.subarray(start, stop)
    start = stop + 1
  }
}

/** A SinkInstance over a service adapter. The sink's spec says `acknowledgements: 'self'`. */
export class DeliverySink<E> implements SinkInstance {
  readonly stats: DeliveryStats = { records: 0, accepted: 0, deadLettered: 0, retried: 0, requests: 0 }
  readonly #svc: ServiceAdapter<E>
  readonly #o: DeliveryOptions
  readonly #ctx: SinkBuildContext
  #pending: Pending<E>[] = []
  #pendingBytes = 0
  /** Records taken, including those dead-lettered before sending. */
  #taken = 0
  #acked = 0
  #lastSend = Date.now()
  #prepared = false
  #commits = 0
  /** Sends run one at a time (write, flush and the idle timer all queue here). */
  #chain: Promise<void> = Promise.resolve()
  #timer: NodeJS.Timeout | undefined
  #failed: unknown

  constructor(svc: ServiceAdapter<E>, o: DeliveryOptions, ctx: SinkBuildContext) {
    this.#svc = svc
    this.#o = o
    this.#ctx = ctx
  }

  async write(b: Batch): Promise<void> {
    this.#throwIfFailed()
    if (b.kind !== 'lines') throw new MaifError('MAIF_ERR_RECORD', `the ${this.#ctx.type} sink takes line records (json or text), not binary`)
    let k = 0
    for (const raw of recordsOf(b)) {
      const record = k++
      this.#taken++
      this.stats.records++
      let event: E
      try {
        event = this.#svc.encode(raw, b.format)
      } catch (err) {
        this.#dead(raw, { batch: b, record }, isMaifError(err) ? err.code : 'MAIF_ERR_RECORD', (err as Error).message, 0)
        continue
      }
      this.#pending.push({ event, raw, at: { batch: b, record }, attempts: 0 })
      this.#pendingBytes += this.#svc.size(event)
      if (this.#pending.length >= this.#o.maxEvents || this.#pendingBytes >= this.#o.maxBytes) await this.#send()
    }
    if (this.#o.periodMs > 0 && Date.now() - this.#lastSend >= this.#o.periodMs) await this.#send()
    else this.#arm()
  }

  async flush(): Promise<void> {
    await this.#send()
  }

  async close(): Promise<void> {
    await this.#send()
    this.#disarm()
    await this.#svc.close?.()
  }

  async destroy(): Promise<void> {
    this.#disarm()
    await this.#svc.close?.().catch(() => undefined)
  }

  #throwIfFailed(): void {
    if (this.#failed !== undefined) throw this.#failed
  }

  /** Records that wait while the source is idle still go out within periodMs. */
  #arm(): void {
    if (this.#timer || this.#o.periodMs <= 0 || this.#taken === this.#acked) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#send().catch((err: unknown) => { this.#failed ??= err })
    }, this.#o.periodMs)
    this.#timer.unref()
  }

  #disarm(): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
  }

  describe(): { path: string; commits: number } {
    return { path: this.#o.target, commits: this.#commits }
  }

  #dead(raw: Buffer, at: Pending<E>['at'], code: ErrorCode | string, reason: string, attempts: number): void {
    this.stats.deadLettered++
    this.#ctx.deadLetter({ code, reason, raw, attempts, at })
  }

  #send(): Promise<void> {
    const run = this.#chain.then(() => {
      this.#throwIfFailed()
      return this.#sendNow()
    })
    this.#chain = run.catch((err: unknown) => { this.#failed ??= err })
    return run
  }

  /** Sends everything pending and acknowledges it once every record is settled. */
  async #sendNow(): Promise<void> {
    this.#disarm()
    this.#lastSend = Date.now()
    const upTo = this.#taken
    if (upTo === this.#acked) return
    const items = this.#pending
    this.#pending = []
    this.#pendingBytes = 0
    // The sources' write-ahead runs before the service is asked to make anything durable.
    await this.#ctx.acks.committing(upTo)
    if (items.length > 0) {
      if (!this.#prepared) {
        try {
          await this.#svc.prepare?.()
        } catch (err) {
          throw isMaifError(err) ? err : wrapError('MAIF_ERR_SIEM_UNAVAILABLE', `preparing ${this.#o.target} failed`, err)
        }
        this.#prepared = true
      }
      await this.#deliver(items)
    }
    this.#acked = upTo
    this.#commits++
    this.#ctx.acks.committed(upTo)
  }

  async #deliver(items: Pending<E>[]): Promise<void> {
    let round = items
    let requestFailures = 0
    while (round.length > 0) {
      const next: Pending<E>[] = []
      let lastError: unknown
      for (const req of this.#svc.plan(round)) {
        for (const it of req) it.attempts++
        this.stats.requests++
        let outcomes: ItemOutcome[]
        try {
          outcomes = await this.#svc.send(req)
        } catch (err) {
          if (!this.#svc.transient(err)) throw isMaifError(err) ? err : wrapError('MAIF_ERR_SIEM_UNAVAILABLE', `sending to ${this.#o.target} failed`, err)
          lastError = err
          // A whole-request failure: nothing of it is known to be stored; all of it goes again.
          next.push(...req)
          continue
        }
        if (outcomes.length !== req.length) throw new MaifError('MAIF_ERR_SIEM_UNAVAILABLE', `${this.#o.target} answered ${outcomes.length} results for ${req.length} events; nothing of it was acknowledged`)
        for (const [i, r] of outcomes.entries()) {
          const it = req[i]!
          if ('ok' in r) this.stats.accepted++
          else if ('fail' in r) this.#dead(it.raw, it.at, r.code ?? 'MAIF_ERR_SIEM_REJECTED', r.fail, it.attempts)
          else if (r.free) { it.attempts--; next.push(it) }
          else if (it.attempts >= this.#o.maxAttempts) this.#dead(it.raw, it.at, 'MAIF_ERR_SIEM_REJECTED', `still refused after ${it.attempts} attempts: ${r.retry}`, it.attempts)
          else next.push(it)
        }
      }
      if (next.length === 0) break
      if (lastError !== undefined) {
        // The service itself is failing: give up on the run (nothing unsettled is acknowledged) rather
        // than dead-letter records that did nothing wrong. A rerun replays them.
        if (++requestFailures >= this.#o.maxAttempts) {
          throw wrapError('MAIF_ERR_SIEM_UNAVAILABLE', `${this.#o.target} failed ${requestFailures} times in a row; ${next.length} events are not acknowledged and will be replayed by the next run`, lastError)
        }
      } else {
        requestFailures = 0
      }
      this.stats.retried += next.length
      await sleep(backoffMs(Math.max(requestFailures, ...next.map((n) => n.attempts)), this.#o.initialMs, this.#o.maxMs))
      round = next
    }
  }
}

/** The retry options every SIEM sink takes (their defaults come from the pipeline's retry policy). */
export function deliveryRetry(o: { maxAttempts?: number | undefined; initialMs?: number | undefined; maxMs?: number | undefined }, ctx: SinkBuildContext): Pick<DeliveryOptions, 'maxAttempts' | 'initialMs' | 'maxMs'> {
  return {
    maxAttempts: o.maxAttempts ?? Math.max(5, ctx.retry.maxAttempts),
    initialMs: o.initialMs ?? ctx.retry.initialMs,
    maxMs: o.maxMs ?? ctx.retry.maxMs,
  }
}
