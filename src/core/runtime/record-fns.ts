// Record functions as a transform: per-record (`(record) => record | null`) or per-batch functions applied
// to line batches, with retries and backoff, and dead letters for records that still fail. Records that are
// dropped keep the acknowledgement mapping (`origin`) of the ones that remain, so a partly durable batch is
// acknowledged exactly. Batches of derived records (another transform's output) and binary batches pass.
import { setTimeout as sleep } from 'node:timers/promises'
import { isMaifError, MaifError } from '../errors.js'
import type { Batch, BuildContext, LinesBatch, TransformInstance } from './types.js'
import type { StageCounters } from './observability.js'

/** One record as record functions see it: `value` is the parsed JSON (json) or the string (text). */
export interface PipelineRecord {
  value: unknown
  /** The record's bytes as read; a function that returns the record unchanged keeps them byte for byte. */
  raw: Buffer
}

/**
 * Returns the record object it was given to keep it byte for byte, a new record object to replace it
 * (its `value` is re-serialised), or null to drop it on purpose. Throwing dead-letters it (after retries,
 * unless the error is a MaifError with code MAIF_ERR_RECORD: the record's own fault).
 */
export type RecordFn = (record: PipelineRecord) => PipelineRecord | null | Promise<PipelineRecord | null>

/** Many line records at once: `data` holds `count` records, each ending with '\n'. */
export interface LineRecords { data: Buffer; count: number }
/** Rewrites a whole batch; returns the same number of records (so their acknowledgements hold). */
export type BatchFn = (batch: LineRecords) => LineRecords | Promise<LineRecords>

export interface RetryPolicy { maxAttempts: number; initialMs: number; maxMs: number; multiplier: number }
export const NO_RETRY: RetryPolicy = { maxAttempts: 1, initialMs: 0, maxMs: 0, multiplier: 1 }

export interface RecordFnContext {
  type: string
  label: string
  retry: RetryPolicy
  metrics: { stage(type: string, label: string): StageCounters }
  deadLetter: BuildContext['deadLetter']
}

const NL = Buffer.from('\n')

/** A transform that applies `fn` to each record of each line batch. */
export function mapRecords(fn: RecordFn, ctx: RecordFnContext): TransformInstance {
  const counters = ctx.metrics.stage(ctx.type, ctx.label)
  return {
    async transform(batch: Batch): Promise<Batch[]> {
      if (batch.kind !== 'lines' || batch.derived) return [batch]
      return [await records(fn, batch, ctx, counters)]
    },
  }
}

/** A transform that applies `fn` to each line batch as a whole (one call per batch, not per record). */
export function mapBatches(fn: BatchFn, ctx: RecordFnContext): TransformInstance {
  const counters = ctx.metrics.stage(ctx.type, ctx.label)
  return {
    async transform(batch: Batch): Promise<Batch[]> {
      if (batch.kind !== 'lines' || batch.derived || batch.count === 0) return [batch]
      return [await batches(fn, batch, ctx, counters)]
    },
  }
}

/** Whether to try again after `err` (waiting out the backoff first). */
async function retryAfter(ctx: RecordFnContext, counters: StageCounters, err: unknown, attempts: number): Promise<boolean> {
  // A MaifError with MAIF_ERR_RECORD is the record's fault: retrying cannot help.
  const permanent = isMaifError(err) && err.code === 'MAIF_ERR_RECORD'
  if (permanent || attempts >= ctx.retry.maxAttempts) return false
  counters.retries++
  await sleep(Math.min(ctx.retry.maxMs, ctx.retry.initialMs * ctx.retry.multiplier ** (attempts - 1)))
  return true
}

function codeOf(err: unknown): string {
  return isMaifError(err) ? err.code : 'MAIF_ERR_RECORD'
}

async function batches(fn: BatchFn, b: LinesBatch, ctx: RecordFnContext, counters: StageCounters): Promise<LinesBatch> {
  let attempts = 0
  for (;;) {
    attempts++
    try {
      const out = await fn({ data: b.data, count: b.count })
      if (out.count !== b.count) throw new MaifError('MAIF_ERR_RECORD', `batch function returned ${out.count} records for ${b.count}; a batch function may rewrite records, not add or drop them`)
      return out.data === b.data ? b : { ...b, data: out.data }
    } catch (err) {
      if (await retryAfter(ctx, counters, err, attempts)) continue
      // The whole batch failed: each of its records goes to the dead letters, with the function's error.
      let start = 0
      for (let nl = b.data.indexOf(0x0a), i = 0; nl !== -1; nl = b.data.indexOf(0x0a, start), i++) {
        counters.errors++
        ctx.deadLetter({ code: codeOf(err), reason: (err as Error)?.message ?? String(err), attempts, raw: b.data.subarray(start, nl), at: { batch: b, record: i } })
        start = nl + 1
      }
      return { ...b, data: Buffer.alloc(0), count: 0, origin: new Uint32Array(0) }
    }
  }
}

async function records(fn: RecordFn, batch: LinesBatch, ctx: RecordFnContext, counters: StageCounters): Promise<LinesBatch> {
  const json = batch.format === 'json'
  const out: Buffer[] = []
  const origin: number[] = []
  let changed = false
  let start = 0
  let i = 0
  const data = batch.data
  for (let nl = data.indexOf(0x0a); nl !== -1; nl = data.indexOf(0x0a, start), i++) {
    const raw = data.subarray(start, nl)
    start = nl + 1
    const kept = await record(fn, raw, json, ctx, counters, { batch, record: i })
    if (kept !== raw) changed = true
    if (kept) {
      out.push(kept, NL)
      origin.push(batch.origin ? batch.origin[i]! : i)
    }
  }
  if (!changed) return batch
  return { ...batch, data: Buffer.concat(out), count: origin.length, origin: Uint32Array.from(origin) }
}

async function record(fn: RecordFn, raw: Buffer, json: boolean, ctx: RecordFnContext, counters: StageCounters, at: { batch: Batch; record: number }): Promise<Buffer | null> {
  const text = raw.toString('utf8')
  const rec = lazyRecord(raw, text, json)
  let attempts = 0
  for (;;) {
    attempts++
    try {
      const r = fn(rec)
      // Most functions are synchronous: only wait when one actually returned a promise.
      const next = r instanceof Promise ? await r : r
      if (next === null) return null
      // A function that returns the record object it was given keeps the original bytes exactly.
      if (next === rec) return raw
      const line = Buffer.from(json ? JSON.stringify(next.value) : String(next.value), 'utf8')
      if (line.includes(0x0a)) throw new MaifError('MAIF_ERR_RECORD', 'a record function produced a record with a newline in it')
      return line
    } catch (err) {
      if (await retryAfter(ctx, counters, err, attempts)) continue
      counters.errors++
      ctx.deadLetter({ code: codeOf(err), reason: (err as Error)?.message ?? String(err), attempts, raw, at })
      return null
    }
  }
}

/** A record whose JSON is parsed only if a function reads `value`: no-op and byte-level functions stay cheap. */
function lazyRecord(raw: Buffer, text: string, json: boolean): PipelineRecord {
  let parsed: { v: unknown } | null = null
  return {
    raw,
    get value(): unknown {
      parsed ??= { v: json ? JSON.parse(text) : text }
      return parsed.v
    },
    set value(v: unknown) {
      parsed = { v }
    },
  }
}
