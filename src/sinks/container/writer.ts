// One container being written: a writer session behind the write path (frame → compress → encrypt → chain →
// sign → append). It reports each commit (a fsynced, signed checkpoint) through its hooks; the sink turns
// them into acknowledgements.
import { Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Commit } from '../../core/container/blocks.js'
import type { WriterSession } from '../../core/container/session.js'
import { ContainerSink as Appender } from '../../core/container/write/appender.js'
import { buildWritePath, type WriteStage } from '../../core/container/write-path.js'
import type { StageCounters } from '../../core/runtime/observability.js'
import type { Batch, SinkBuildContext } from '../../core/runtime/types.js'

export interface WriterHooks {
  /** Before a commit's bytes are written (the sources' write-ahead). */
  beforeCommit(c: Commit): Promise<void>
  /** Once the commit is durable. */
  onCommit(c: Commit): void
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
  try {
    ;({ streams } = buildWritePath(session, stages, {
      pool: ctx.pool(),
      around: (type, t) => (type === 'chain' || type === 'sign' ? [t] : [t, meter(ctx.metrics.stage(type, ctx.blockStages.find((e) => e.type === type)?.label ?? type))]),
    }))
    appender = new Appender({ session, ...(fsync ? { fsync } : {}), beforeCommit: (c: Commit) => hooks.beforeCommit(c) })
  } catch (err) {
    void session.close()
    throw err
  }
  let commits = 0
  appender.on('commit', (c: Commit) => {
    commits++
    hooks.onCommit(c)
  })
  const head = streams[0]!
  const done = pipeline([...streams, appender])
  let failed: unknown
  done.catch((err: unknown) => { failed ??= err }) // surfaced by the next write or close, never unhandled
  return {
    async write(batch: Batch) {
      if (failed !== undefined) throw failed
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
