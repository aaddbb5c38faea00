// Record stages: the per-record part of a pipeline (validate-json, user stages), applied to line batches.
// A record a stage rejects goes to the dead letters with the stage, code, attempts and original bytes;
// the batch keeps its source position so the cursor can still move past it.
import { Transform, type TransformCallback } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { MaifError, type ErrorCode } from '../errors.js'
import type { BatchFn, PipelineRecord, RecordFn } from './registry.js'
import type { PositionedBatch } from '../../sources/file/read.js'

export interface DeadLetter {
  stage: string
  label: string
  code: ErrorCode | string
  reason: string
  attempts: number
  raw: string
  /** Set when `raw` is only the start of the record (a line too long to hold). */
  truncated?: boolean
  source?: { file: string; line?: number }
}

export interface RetryPolicy { maxAttempts: number; initialMs: number; maxMs: number; multiplier: number }
export const NO_RETRY: RetryPolicy = { maxAttempts: 1, initialMs: 0, maxMs: 0, multiplier: 1 }

export interface BoundStage {
  stage: string
  label: string
  /** Per-record form, or… */
  fn?: RecordFn
  /** …batch form (one call per batch). */
  batch?: BatchFn
  counters?: { recordsIn: number; recordsOut: number; errors: number; retries: number }
}

export interface RecordStagesOptions {
  stages: readonly BoundStage[]
  json: boolean
  retry?: RetryPolicy
  deadLetter: (d: DeadLetter) => void
  /** Told how long each stage spent on each batch (ms), for latency metrics. */
  observe?: (counters: NonNullable<BoundStage['counters']>, ms: number) => void
  highWaterMark?: number
}

const NL = Buffer.from('\n')

export class RecordStages extends Transform {
  readonly #o: RecordStagesOptions
  readonly #retry: RetryPolicy

  constructor(opts: RecordStagesOptions) {
    super({ objectMode: true, highWaterMark: opts.highWaterMark ?? 4 })
    this.#o = opts
    this.#retry = opts.retry ?? NO_RETRY
  }

  override _transform(batch: PositionedBatch, _e: BufferEncoding, cb: TransformCallback): void {
    this.#run(batch).then((out) => cb(null, out), (err: unknown) => cb(err as Error))
  }

  async #run(batch: PositionedBatch): Promise<PositionedBatch> {
    // Consecutive per-record stages run record by record; a batch stage runs once on the whole batch.
    let b = batch
    const stages = this.#o.stages
    for (let i = 0; i < stages.length;) {
      const s = stages[i]!
      const t0 = performance.now()
      if (s.batch) {
        b = await this.#batch(s, s.batch, b)
        i++
        if (s.counters) this.#o.observe?.(s.counters, performance.now() - t0)
        continue
      }
      let j = i
      while (j < stages.length && !stages[j]!.batch) j++
      const group = stages.slice(i, j)
      b = await this.#records(group, b)
      // Record stages of one group run interleaved, record by record: each is charged an equal share.
      const share = (performance.now() - t0) / group.length
      for (const g of group) if (g.counters) this.#o.observe?.(g.counters, share)
      i = j
    }
    return b
  }

  /** Whether to try again after `err` (waiting out the backoff first). */
  async #retryAfter(s: BoundStage, err: unknown, attempts: number): Promise<boolean> {
    // A MaifError with MAIF_ERR_RECORD is the record's fault: retrying cannot help.
    const permanent = err instanceof MaifError && err.code === 'MAIF_ERR_RECORD'
    if (permanent || attempts >= this.#retry.maxAttempts) return false
    if (s.counters) s.counters.retries++
    await sleep(Math.min(this.#retry.maxMs, this.#retry.initialMs * this.#retry.multiplier ** (attempts - 1)))
    return true
  }

  async #batch(s: BoundStage, fn: BatchFn, b: PositionedBatch): Promise<PositionedBatch> {
    if (b.count === 0) return b
    if (s.counters) s.counters.recordsIn += b.count
    let attempts = 0
    for (;;) {
      attempts++
      try {
        const out = await fn({ data: b.data, count: b.count })
        if (out.count !== b.count) throw new MaifError('MAIF_ERR_RECORD', `batch stage returned ${out.count} records for ${b.count}; batch stages may rewrite records, not add or drop them`)
        if (s.counters) s.counters.recordsOut += out.count
        return out.data === b.data ? b : { ...b, data: out.data }
      } catch (err) {
        if (await this.#retryAfter(s, err, attempts)) continue
        // The whole batch failed: each of its records goes to the dead letters, with the stage's error.
        let start = 0
        let i = 0
        for (let nl = b.data.indexOf(0x0a); nl !== -1; nl = b.data.indexOf(0x0a, start), i++) {
          if (s.counters) s.counters.errors++
          this.#o.deadLetter({
            stage: s.stage, label: s.label, code: err instanceof MaifError ? err.code : 'MAIF_ERR_RECORD', reason: (err as Error)?.message ?? String(err),
            attempts, raw: b.data.toString('utf8', start, nl), source: { file: b.pos.file, line: b.lines[i]! },
          })
          start = nl + 1
        }
        return { ...b, data: Buffer.alloc(0), count: 0, ends: new Float64Array(0), lines: new Float64Array(0) }
      }
    }
  }

  async #records(stages: readonly BoundStage[], batch: PositionedBatch): Promise<PositionedBatch> {
    const out: Buffer[] = []
    const ends: number[] = []
    const lines: number[] = []
    let start = 0
    let i = 0
    const data = batch.data
    for (let nl = data.indexOf(0x0a); nl !== -1; nl = data.indexOf(0x0a, start), i++) {
      const raw = data.subarray(start, nl)
      start = nl + 1
      const kept = await this.#record(stages, raw, batch, batch.lines[i])
      if (kept) {
        out.push(kept, NL)
        ends.push(batch.ends[i]!)
        lines.push(batch.lines[i]!)
      }
    }
    return { kind: 'lines', data: Buffer.concat(out), count: ends.length, pos: batch.pos, ends: Float64Array.from(ends), lines: Float64Array.from(lines) }
  }

  async #record(stages: readonly BoundStage[], raw: Buffer, batch: PositionedBatch, lineNo: number | undefined): Promise<Buffer | null> {
    const text = raw.toString('utf8')
    let rec = lazyRecord(raw, text, this.#o.json)
    let changed = false
    for (const s of stages) {
      if (s.counters) s.counters.recordsIn++
      let attempts = 0
      for (;;) {
        attempts++
        try {
          const r = s.fn!(rec)
          // Most stages are synchronous: only wait when a stage actually returned a promise.
          const next = r instanceof Promise ? await r : r
          if (next === null) return null
          if (next !== rec) changed = true
          rec = next
          break
        } catch (err) {
          if (await this.#retryAfter(s, err, attempts)) continue
          if (s.counters) s.counters.errors++
          this.#o.deadLetter({
            stage: s.stage, label: s.label, code: err instanceof MaifError ? err.code : 'MAIF_ERR_RECORD', reason: (err as Error)?.message ?? String(err),
            attempts, raw: text, source: lineNo === undefined ? { file: batch.pos.file } : { file: batch.pos.file, line: lineNo },
          })
          return null
        }
      }
      if (s.counters) s.counters.recordsOut++
    }
    // A stage that returns the record object it was given keeps the original bytes exactly.
    if (!changed) return raw
    const line = Buffer.from(this.#o.json ? JSON.stringify(rec.value) : String(rec.value), 'utf8')
    if (line.includes(0x0a)) throw new MaifError('MAIF_ERR_RECORD', 'a stage produced a record with a newline in it')
    return line
  }
}

/** A record whose JSON is parsed only if a stage reads `value`: no-op and byte-level stages stay cheap. */
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
