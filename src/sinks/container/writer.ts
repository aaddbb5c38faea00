// One container being written: a writer session behind the write path (frame → compress → encrypt → chain →
// sign → append). It reports each commit (a fsynced, signed checkpoint) through its hooks; the sink turns
// them into acknowledgements.
//
// Records that carry stream positions (a Kafka source's offsets) are skipped when the container's last
// checkpoint, before this session, already holds them (a worker resuming after a crash, or a partition's next
// owner, reads again from the committed offset, which may lie behind what is durable). A skipped record is
// acknowledged as durable, and the commits it reports count input records (written or skipped), so the
// engine's cumulative acknowledgements stay exact.
import { Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Commit } from '../../core/container/blocks.js'
import { CommittedPositions } from '../../core/container/positions.js'
import type { WriterSession } from '../../core/container/session.js'
import { ContainerSink as Appender } from '../../core/container/write/appender.js'
import { buildWritePath, type WriteStage } from '../../core/container/write-path.js'
import type { StageCounters } from '../../core/runtime/observability.js'
import type { Batch, BinaryPiece, SinkBuildContext } from '../../core/runtime/types.js'

export interface WriterHooks {
  /** Before a commit's bytes are written (the sources' write-ahead). */
  beforeCommit(c: Commit): Promise<void>
  /** Once the commit is durable. */
  onCommit(c: Commit): void
  /** Input records up to `records` are durable without a commit: what came after the last commit was skipped. */
  onSkip?(records: number): void
}

export interface ContainerWriter {
  write(batch: Batch): Promise<void>
  /** Ends the session: a final checkpoint, fsync, and the lock released. */
  close(): Promise<void>
  destroy(err: Error): void
  readonly commits: number
}

export function openWriter(session: WriterSession, stages: WriteStage[], _path: string, fsync: 'commit' | 'never' | undefined, ctx: SinkBuildContext, hooks: WriterHooks): ContainerWriter {
  let streams: Transform[]
  let appender: Appender
  // The appender is built before the skip state; its write-ahead hook reads it through this reference.
  const skipRef = { inputOf: (n: number): number => n }
  try {
    ;({ streams } = buildWritePath(session, stages, {
      pool: ctx.pool(),
      around: (type, t) => (type === 'chain' || type === 'sign' ? [t] : [t, meter(ctx.metrics.stage(type, ctx.blockStages.find((e) => e.type === type)?.label ?? type))]),
    }))
    appender = new Appender({ session, ...(fsync ? { fsync } : {}), beforeCommit: (c: Commit) => hooks.beforeCommit({ ...c, records: skipRef.inputOf(c.records) }) })
  } catch (err) {
    void session.close()
    throw err
  }
  let commits = 0
  const skip = new ResumeSkip(session.startOffset > 0 ? new CommittedPositions(session.fh, session.startOffset, session.lastIndexOffset) : null, ctx, _path)
  appender.on('commit', (c: Commit) => {
    commits++
    hooks.onCommit({ ...c, records: skip.durable(c.records) })
  })
  skipRef.inputOf = (n) => skip.inputOf(n)
  const head = streams[0]!
  const done = pipeline([...streams, appender])
  let failed: unknown
  done.catch((err: unknown) => { failed ??= err }) // surfaced by the next write or close, never unhandled
  return {
    async write(input: Batch) {
      if (failed !== undefined) throw failed
      const taken = skip.take(input)
      const batch = taken instanceof Promise ? await taken : taken
      if (batch === null) {
        // Nothing left to write: if everything before is durable, so is this (no commit will come for it).
        const r = skip.idle()
        if (r !== null) hooks.onSkip?.(r)
        return
      }
      if (!head.write(batch)) await Promise.race([new Promise((r) => head.once('drain', r)), done])
      if (failed !== undefined) throw failed
    },
    async close() {
      head.end()
      await done
    },
    destroy(err) {
      head.destroy(err)
      appender.destroy(err)
    },
    get commits() {
      return commits
    },
  }
}

/** Counts what passes a stage (records and bytes), for metrics; one cheap hop per block. */
function meter(c: StageCounters): Transform {
  return new Transform({
    objectMode: true, highWaterMark: 2,
    transform(chunk: { records?: number; count?: number; data?: Buffer; body?: Buffer; payloadLen?: number }, _e, cb: TransformCallback) {
      const n = chunk.records ?? chunk.count ?? 0
      const bytes = chunk.payloadLen ?? chunk.body?.length ?? chunk.data?.length ?? 0
      c.recordsIn += n
      c.recordsOut += n
      c.bytesIn += bytes
      c.bytesOut += bytes
      cb(null, chunk)
    },
  })
}

/** Counts of one write: records skipped (a prefix of the batch) and records written. */
interface Span { skipped: number; written: number }

/**
 * Skip-on-resume for one writer session. Per stream, the last offset the container held when the session
 * opened is looked up once; leading records at or below it are dropped until one above it arrives (offsets
 * rise within a partition), after which the stream costs nothing more. It also maps the container's record
 * counts (what commits report) to input record counts (what the engine acknowledges).
 */
class ResumeSkip {
  readonly #positions: CommittedPositions | null
  readonly #ctx: SinkBuildContext
  readonly #path: string
  /** Streams past their resume point (or with none). */
  readonly #passed = new Set<string>()
  readonly #spans: Span[] = []
  /** Input and container records of the spans already durable and dropped from #spans. */
  #baseIn = 0
  #baseOut = 0
  #written = 0
  #durableOut = 0

  constructor(positions: CommittedPositions | null, ctx: SinkBuildContext, path: string) {
    this.#positions = positions
    this.#ctx = ctx
    this.#path = path
  }

  /**
   * The batch to write (with its records' offsets aligned for the framer), or null when every record is
   * skipped. Synchronous unless a stream's resume point must be read.
   */
  take(batch: Batch): Batch | null | Promise<Batch | null> {
    const pos = batch.positions
    if (pos === undefined || batch.derived || batch.count === 0) {
      this.#note(0, batch.count)
      return batch
    }
    if (this.#positions === null || this.#passed.has(pos.stream)) return this.#cut(batch, pos, 0)
    return this.#positions.last(pos.stream).then((mark) => {
      const at = (i: number): string => pos.at[batch.origin ? batch.origin[i]! : i]!
      let skipped = 0
      if (mark !== null) while (skipped < batch.count && BigInt(at(skipped)) <= mark) skipped++
      if (skipped < batch.count) this.#passed.add(pos.stream)
      if (skipped > 0) {
        this.#ctx.metrics.partition(pos.stream).skipped += skipped
        this.#ctx.logger?.info({ stream: pos.stream, skipped, upTo: mark?.toString(), path: this.#path }, 'records already inside the container\'s last checkpoint: skipped, not written again')
      }
      return this.#cut(batch, pos, skipped)
    })
  }

  /** `batch` without its first `skipped` records, with the offsets of the rest for the framer. */
  #cut(batch: Batch, pos: NonNullable<Batch['positions']>, skipped: number): Batch | null {
    this.#note(skipped, batch.count - skipped)
    if (skipped === batch.count) return null
    const aligned = batch.origin || skipped > 0 ? Array.from({ length: batch.count - skipped }, (_, i) => pos.at[batch.origin ? batch.origin[skipped + i]! : skipped + i]!) : pos.at
    const offsets = { stream: pos.stream, at: aligned }
    if (skipped === 0) return Object.assign({ ...batch }, { offsets })
    if (batch.kind === 'lines') {
      let end = 0
      for (let n = 0; n < skipped; n++) end = batch.data.indexOf(0x0a, end) + 1
      return Object.assign({ ...batch, data: batch.data.subarray(end), count: batch.count - skipped }, { offsets })
    }
    let ended = 0
    let from = 0
    while (ended < skipped) if ((batch.pieces[from++] as BinaryPiece).last !== false) ended++
    return Object.assign({ ...batch, pieces: batch.pieces.slice(from), count: batch.count - skipped }, { offsets })
  }

  #note(skipped: number, written: number): void {
    this.#written += written
    const last = this.#spans[this.#spans.length - 1]
    // Consecutive plain writes merge, so that the list stays short once nothing is skipped.
    if (last && skipped === 0) last.written += written
    else this.#spans.push({ skipped, written })
  }

  /** Input records durable once the container holds `out` records of this session. */
  inputOf(out: number): number {
    let input = this.#baseIn
    let o = this.#baseOut
    for (const s of this.#spans) {
      if (out >= o + s.written) { input += s.skipped + s.written; o += s.written; continue }
      input += s.skipped + (out - o)
      break
    }
    return input
  }

  /** A commit of `out` records happened: the input count it makes durable; forgets the spans it covers. */
  durable(out: number): number {
    this.#durableOut = Math.max(this.#durableOut, out)
    const input = this.inputOf(this.#durableOut)
    // Keep the last span: a partly durable one, or the one later writes merge into.
    while (this.#spans.length > 1 && this.#baseOut + this.#spans[0]!.written <= this.#durableOut) {
      const s = this.#spans.shift()!
      this.#baseIn += s.skipped + s.written
      this.#baseOut += s.written
    }
    return input
  }

  /** After a write that was all skipped: the input records durable now, if every record written is. */
  idle(): number | null {
    return this.#durableOut >= this.#written ? this.durable(this.#durableOut) : null
  }
}
