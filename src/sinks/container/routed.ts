// A container sink whose path has {placeholders}, filled from each envelope's `route` (a Kafka source's
// { topic, partition }): one container per route, so that workers splitting partitions never write the
// same file. Each container commits on its own; the sink acknowledges the longest prefix of its input that
// is durable in the containers it went to, so the engine's cumulative acknowledgements stay exact. A
// `release` envelope closes its route's container (final checkpoint, lock released); a container still held
// by another worker (its previous owner, finishing) is waited for.
import { resolve } from 'node:path'
import type { Logger } from 'pino'
import { MaifError, wrapError } from '../../core/errors.js'
import type { Batch, SinkBuildContext, SinkInstance } from '../../core/runtime/types.js'
import type { ContainerWriter, WriterHooks } from './writer.js'

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g
/** Route values become file names: Kafka topic names are [A-Za-z0-9._-], partitions digits. */
const SAFE = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/

export function templateNames(path: string): string[] {
  return [...path.matchAll(PLACEHOLDER)].map((m) => m[1]!)
}

export function fillTemplate(template: string, route: Readonly<Record<string, string>> | undefined): string {
  return template.replace(PLACEHOLDER, (_m, name: string) => {
    const v = route?.[name]
    if (v === undefined) {
      throw new MaifError('MAIF_ERR_INVALID_OPTION', `the container path ${template} uses {${name}}, but the records carry no '${name}' route (the kafka source routes by topic and partition)`)
    }
    if (!SAFE.test(v)) throw new MaifError('MAIF_ERR_INVALID_OPTION', `the route value '${v}' for {${name}} cannot be part of a file name`)
    return v
  })
}

interface Sub {
  path: string
  writer: ContainerWriter
  /** Records written to this container in this session, and those its last commit made durable. */
  sent: number
  durable: number
}

export function routedSink(
  template: string, ctx: SinkBuildContext, open: (path: string, hooks: WriterHooks) => Promise<ContainerWriter>,
  opts: { lockWaitMs: number; log: Logger | undefined },
): SinkInstance {
  const subs = new Map<string, Sub>()
  // The sink's input in order: which container each envelope went to, and where it ends there.
  const entries: Array<{ sub: Sub; end: number; count: number }> = []
  let acked = 0
  let commits = 0
  const counter = ctx.metrics.stage('container', ctx.label)

  const advance = (): void => {
    let moved = false
    while (entries.length > 0 && entries[0]!.sub.durable >= entries[0]!.end) {
      acked += entries.shift()!.count
      moved = true
    }
    if (moved) {
      counter.recordsOut = acked
      ctx.acks.committed(acked)
    }
  }
  /** The acknowledged prefix if `sub` had made `records` durable. */
  const prefixIf = (sub: Sub, records: number): number => {
    let n = acked
    for (const e of entries) {
      const d = e.sub === sub ? Math.max(records, sub.durable) : e.sub.durable
      if (d < e.end) break
      n += e.count
    }
    return n
  }

  const openSub = async (path: string): Promise<Sub> => {
    const deadline = Date.now() + opts.lockWaitMs
    let warned = false
    for (;;) {
      const sub = { path, sent: 0, durable: 0 } as Sub
      try {
        sub.writer = await open(path, {
          beforeCommit: (c) => ctx.acks.committing(prefixIf(sub, c.records)),
          onCommit: (c) => { sub.durable = c.records; commits++; advance() },
          // Records skipped on resume (already in the container) are durable without a commit.
          onSkip: (records) => { sub.durable = Math.max(sub.durable, records); advance() },
        })
        return sub
      } catch (err) {
        if (!(err instanceof MaifError && err.code === 'MAIF_ERR_LOCKED') || Date.now() >= deadline) throw err
        if (!warned) opts.log?.info({ path }, 'waiting for the container\'s previous writer to release it')
        warned = true
        await new Promise((r) => setTimeout(r, 100))
      }
    }
  }

  const closeSub = async (sub: Sub): Promise<void> => {
    try {
      await sub.writer.close()
    } catch (err) {
      throw wrapError('MAIF_ERR_IO', `writing the container ${sub.path} failed`, err)
    }
    advance()
  }

  return {
    async write(batch: Batch) {
      const path = resolve(ctx.cwd, fillTemplate(template, batch.route))
      if (batch.release) {
        const sub = subs.get(path)
        if (sub) {
          subs.delete(path)
          await closeSub(sub)
        }
        return
      }
      let sub = subs.get(path)
      if (!sub) {
        sub = await openSub(path)
        subs.set(path, sub)
      }
      sub.sent += batch.count
      entries.push({ sub, end: sub.sent, count: batch.count })
      await sub.writer.write(batch)
    },
    async close() {
      const all = [...subs.values()]
      subs.clear()
      await Promise.all(all.map((s) => closeSub(s)))
    },
    destroy(err) {
      for (const s of subs.values()) s.writer.destroy(err)
      subs.clear()
    },
    describe: () => ({ path: resolve(ctx.cwd, template), commits }),
  }
}
