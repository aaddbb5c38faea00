// The pipeline engine: builds a validated definition from registered components and runs it on Node
// streams: source → record transforms → fan-out → sinks. It knows components only through their specs and
// passes one envelope (Batch) between them; it never looks inside a payload or an acknowledgement token.
// A source learns what is durable twice: before a sink commits (prepare, a write-ahead) and after every
// output has committed (commit).
import { resolve } from 'node:path'
import { existsSync } from 'node:fs'
import { Readable, Transform, Writable, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Logger } from 'pino'
import { getFips } from 'node:crypto'
import { MaifError, wrapError } from '../errors.js'
import { requireFips } from '../format/signing.js'
import { WorkerPool } from '../workers/worker-pool.js'
import { builtins, type ComponentRegistry, type ComponentSpec, type SinkSpec, type TransformSpec } from './component.js'
import { checkPipeline, componentsOf, formatIssue, PipelineDefError } from './pipeline-def.js'
import { encryptionRequired, parseDurationMs, resolveDeadLetter, resolveSinks, type ComponentEntry, type PipelineDefinition } from './pipeline-schema.js'
import { RunMetrics } from './observability.js'
import { AckTracker } from './acks.js'
import { DeadLetters, deadLetterOf, knownDeadLetters } from './dead-letters.js'
import { pathConflicts, refusePathConflicts } from './paths.js'
import type { RetryPolicy } from './record-fns.js'
import type { AckProgress, AckToken, Batch, BlockStageEntry, BuildContext, DeadLetterInput, LinesBatch, SinkAcks, SinkBuildContext, SinkInstance, SourceInstance, TransformInstance } from './types.js'

export interface RunOptions {
  /** The components the definition may use; default the built-ins. */
  registry?: ComponentRegistry
  /** More components for this run (a pipeline module's own). definePipeline's are added too. */
  components?: readonly ComponentSpec[]
  /** Graceful stop: the source stops reading, every stage flushes, containers get a final checkpoint. */
  stop?: AbortSignal
  /** Hard abort: streams are destroyed at once. */
  signal?: AbortSignal
  logger?: Logger
  metrics?: RunMetrics
  /** Resolve relative paths against this directory (default: the current one). */
  cwd?: string
  /** A keyring directory that overrides the pipeline's (the CLI's --keyring). */
  keyring?: string
  /** Called once an output has made records durable (its cumulative count). */
  onCommit?: (output: string, records: number) => void
}

export interface RunReport {
  pipeline: string
  status: 'completed' | 'stopped'
  /** Records the source read (including those that went to the dead letters). */
  recordsIn: number
  /** Source records that reached the outputs. */
  delivered: number
  deadLetters: number
  /** Records a transform dropped on purpose. */
  dropped: number
  /** Records transforms added beside the source's (embeddings, index entries): not part of the reconciliation. */
  emitted: number
  /**
   * recordsIn = delivered + deadLetters + dropped. A record an output dead-lettered after it reached it (a SIEM
   * refusing an event, a message too large for Kafka) counts once, as a dead letter, and not as delivered.
   */
  reconciled: boolean
  files: number
  bytes: number
  /** records: settled in this output (accepted, or dead-lettered by it: `deadLetters`). */
  outputs: Array<{ type: string; label: string; path: string | null; records: number; commits: number; deadLetters: number }>
  deadLetterFile: string | null
  cursor: string | null
  durationMs: number
}

interface Output {
  type: string
  label: string
  sink: SinkInstance
  commits: number
}

interface Group { token: AckToken; envelopes: Batch[] }

/** Runs a pipeline definition to completion (or to a graceful stop) and reports what happened. */
export async function runPipeline(def: PipelineDefinition, opts: RunOptions = {}): Promise<RunReport> {
  const started = Date.now()
  const registry = registryFor(def, opts)
  const checked = checkPipeline(def, { registry })
  const problems = checked.issues.filter((i) => i.severity === 'error')
  if (problems.length) throw new PipelineDefError('MAIF_ERR_PIPELINE_DEF', `the pipeline is invalid:\n${problems.map(formatIssue).join('\n')}`, problems)
  // FIPS mode fails closed before anything is opened: maif cannot enable FIPS, only refuse to run without it.
  if (def.security?.fips) {
    if (getFips() !== 1) throw new MaifError('MAIF_ERR_FIPS', `pipeline ${def.name ?? ''} sets security.fips: true, but Node is not running an OpenSSL FIPS provider (crypto.getFips() is 0); start Node with --enable-fips and a FIPS-enabled OpenSSL configuration, or remove security.fips`.replace('pipeline  ', 'pipeline '))
    requireFips()
  }
  const cwd = opts.cwd ?? process.cwd()
  await refusePathConflicts(def, registry, cwd)
  const name = def.name ?? 'pipeline'
  const metrics = opts.metrics ?? new RunMetrics(name, def.labels)
  const log = opts.logger?.child({ pipeline: name })
  const cwConf = def.observability?.cloudwatch
  const cloudwatch = !cwConf ? null : cwConf.format === 'emf'
    ? (await import('./emf-metrics.js')).startEmfMetrics(metrics, { ...cwConf, ...(cwConf.path && cwConf.path !== '-' ? { path: resolve(cwd, cwConf.path) } : {}), logger: log })
    : (await import('./cloudwatch-metrics.js')).startCloudWatchMetrics(metrics, { ...cwConf, logger: log })
  const stop = opts.stop ?? new AbortController().signal
  const sinks = resolveSinks(def)
  const retry = retryPolicy(def)
  const batching = {
    ...(def.batching?.count === undefined ? {} : { count: def.batching.count }),
    ...(def.batching?.bytes === undefined ? {} : { bytes: def.batching.bytes }),
    ...(def.batching?.period === undefined ? {} : { periodMs: parseDurationMs(def.batching.period) }),
  }
  let pool: WorkerPool | null = null
  const getPool = (): WorkerPool => (pool ??= new WorkerPool(Math.max(1, Math.min(def.concurrency ?? 2, 8))))
  const outputsInfo = sinks.outputs.map((e) => {
    const spec = registry.get('sink', e.type)!
    const key = spec.key?.(optionsOf(e), cwd)
    return { type: e.type, label: e.label ?? e.type, ...(key === undefined ? {} : { key }) }
  })
  let deadLetters: DeadLetters = new DeadLetters(null, null)
  const stageDeadLetters = new Map<string, number>()
  const context = (type: string, label: string, dlStage = type): BuildContext => ({
    type, label, cwd, logger: log, metrics, keyringFlag: opts.keyring, defaultKeyring: def.security?.keyring, pool: getPool, stop, retry, batching,
    outputs: outputsInfo,
    deadLetter: (d: DeadLetterInput) => {
      if (d.at && !d.source && source?.locate) {
        const where = source.locate(d.at.batch.ack, d.at.batch.origin ? d.at.batch.origin[d.at.record]! : d.at.record)
        if (where) d = { ...d, source: where }
      }
      metrics.deadLetters++
      stageDeadLetters.set(label, (stageDeadLetters.get(label) ?? 0) + 1)
      deadLetters.write(deadLetterOf(dlStage, label, d))
    },
  })
  // A record an output sends to the dead letters (too large for a Kafka message, refused by an index) reached
  // the outputs but was not delivered: it is counted once, as a dead letter, and reported per output.
  const outputDeadLetters = new Map<string, number>()
  const noAcks: SinkAcks = { committing: async () => undefined, committed: () => undefined }
  const sinkContext = (type: string, label: string, acks: SinkAcks, blockStages: BlockStageEntry[]): SinkBuildContext => {
    const base = context(type, label)
    return { ...base, deadLetter: (d) => { outputDeadLetters.set(label, (outputDeadLetters.get(label) ?? 0) + 1); base.deadLetter(d) }, acks, blockStages, security: { requireEncryption: encryptionRequired(def) }, pipeline: name }
  }

  let source: SourceInstance | undefined
  const transforms: Array<{ label: string; t: TransformInstance }> = []
  const outputs: Output[] = []
  let ackChain: Promise<void> = Promise.resolve()
  try {
    // Dead letters first: every other component may send records there from the moment it is built.
    const dlEntry = resolveDeadLetter(def)
    if (dlEntry) {
      const dlSink = await buildSink(registry, dlEntry, sinkContext(dlEntry.type, dlEntry.label ?? 'dead-letters', noAcks, []))
      const path = dlSink.describe?.().path ?? null
      deadLetters = new DeadLetters(dlSink, path)
    }
    const recordEntries: ComponentEntry[] = []
    const blockStages: BlockStageEntry[] = []
    for (const [index, e] of (def.transforms ?? []).entries()) {
      const spec = registry.get('transform', e.type)! as TransformSpec
      const label = e.label ?? e.type
      if (spec.stage === 'record') recordEntries.push(e)
      else blockStages.push({ type: e.type, label, index, stage: await build(spec, e, context(e.type, label)) })
    }
    // Acknowledgements: outputs report what they made durable; the source hears it, in order.
    const tracker = new AckTracker(sinks.outputs.length, sinks.mode === 'fallback')
    const srcEntry = def.source
    source = (await build(registry.get('source', srcEntry.type)!, srcEntry, context(srcEntry.type, srcEntry.label ?? 'source', 'source'))) as SourceInstance
    const src = source
    // A resumed run reads again what followed its last durable position; what an earlier run dead-lettered
    // there is already in the dead-letter file and is counted, not written twice.
    if (src.rereads && deadLetters.path && existsSync(deadLetters.path)) deadLetters.skipKnown(await knownDeadLetters(deadLetters.path, (w) => src.rereads!(w)))
    const tell = (p: AckProgress): void => {
      if (p.done.length === 0 && !p.partial) return
      ackChain = ackChain.then(async () => {
        await deadLetters.flush()
        await src.commit?.(p)
      })
      ackChain.catch(() => undefined) // surfaced when the run ends
    }
    for (const [i, e] of sinks.outputs.entries()) {
      const label = e.label ?? e.type
      const spec = registry.get('sink', e.type)! as SinkSpec
      const out: Output = { type: e.type, label, sink: undefined as unknown as SinkInstance, commits: 0 }
      const acks: SinkAcks = {
        committing: async (records, ref) => {
          // Dead letters of the records this commit covers are durable before any write-ahead names them.
          await deadLetters.flush()
          await src.prepare?.(tracker.ifCommitted(i, records), { output: label, records, ...(ref?.key ? { key: ref.key } : {}), ...(ref?.treeSize === undefined ? {} : { treeSize: ref.treeSize }) })
        },
        committed: (records) => {
          out.commits++
          metrics.stage(e.type, label).recordsOut = records
          tell(tracker.committed(i, records))
          opts.onCommit?.(label, records)
        },
      }
      const sink = await buildSink(registry, e, sinkContext(e.type, label, acks, blockStages))
      out.sink = spec.acknowledgements === 'self' ? sink : acknowledgedOnWrite(sink, acks)
      outputs.push(out)
    }
    for (const e of recordEntries) {
      const label = e.label ?? e.type
      transforms.push({ label, t: (await build(registry.get('transform', e.type)!, e, context(e.type, label))) as TransformInstance })
    }

    let delivered = 0
    let emitted = 0
    let dropped = 0
    const sourceCounter = metrics.stage('source', srcEntry.label ?? 'source')
    const readable = Readable.from(src.batches(), { objectMode: true, highWaterMark: 2 })
    const counters = transforms.map(({ label, t: _t }, k) => metrics.stage(recordEntries[k]!.type, label))
    const process = new Transform({
      objectMode: true, highWaterMark: 2,
      transform(batch: Batch, _e, cb: TransformCallback) {
        runTransforms(batch).then((g) => cb(null, g), (err: unknown) => cb(err as Error))
      },
    })
    // A batch's memory may go back to its source only from its one reader: a record transform or a second
    // output could still hold views of it when the container sink is done with it.
    const oneReader = transforms.length === 0 && outputs.length === 1 && sinks.mode === 'all'
    const runTransforms = async (batch: Batch): Promise<Group> => {
      if (!oneReader && batch.kind === 'lines' && batch.releaseData) batch = withoutRelease(batch)
      const st = src.stats()
      metrics.source.records = st.records
      metrics.source.bytes = st.bytes
      metrics.source.files = st.files ?? 0
      if (st.totalBytes !== undefined) metrics.source.totalBytes = st.totalBytes
      sourceCounter.recordsOut += batch.count
      let list: Batch[] = [batch]
      for (const [k, { label, t }] of transforms.entries()) {
        const c = counters[k]!
        const primaryIn = sum(list, false)
        const dlBefore = stageDeadLetters.get(label) ?? 0
        const t0 = performance.now()
        const next: Batch[] = []
        for (const b of list) next.push(...(await t.transform(b)))
        metrics.observeLatency(c, performance.now() - t0)
        const primaryOut = sum(next, false)
        c.recordsIn += primaryIn
        c.recordsOut += primaryOut
        const lost = primaryIn - primaryOut - ((stageDeadLetters.get(label) ?? 0) - dlBefore)
        if (lost > 0) { dropped += lost; metrics.dropped += lost }
        list = next
      }
      delivered += sum(list, false)
      emitted += sum(list, true)
      metrics.delivered = delivered
      return { token: batch.ack, envelopes: list }
    }
    const fan = sinks.mode === 'all' ? new FanOutAll(outputs, tracker) : new FanOutFallback(outputs, tracker, log)
    log?.info({ outputs: outputs.length }, 'pipeline started')
    await pipeline([readable, process, fan], opts.signal ? { signal: opts.signal } : {})
    await ackChain
    delivered -= sum0(outputDeadLetters)
    metrics.delivered = delivered
    await deadLetters.close()
    if (deadLetters.alreadyWritten > 0) log?.info({ deadLetters: deadLetters.alreadyWritten, path: deadLetters.path }, 'dead letters of re-read records were already written by an earlier run: counted, not written again')
    const st = src.stats()
    metrics.source.records = st.records
    metrics.source.bytes = st.bytes
    metrics.source.files = st.files ?? 0
    const recordsIn = st.records
    const report: RunReport = {
      pipeline: name, status: stop.aborted ? 'stopped' : 'completed', recordsIn, delivered, deadLetters: metrics.deadLetters, dropped, emitted,
      reconciled: recordsIn === delivered + metrics.deadLetters + dropped, files: st.files ?? 0, bytes: st.bytes,
      outputs: outputs.map((o, i) => ({ type: o.type, label: o.label, path: o.sink.describe?.().path ?? null, records: tracker.committedOf(i), commits: o.sink.describe?.().commits ?? o.commits, deadLetters: outputDeadLetters.get(o.label) ?? 0 })),
      deadLetterFile: deadLetters.count ? deadLetters.path : null, cursor: src.describe?.().cursor ?? null, durationMs: Date.now() - started,
    }
    log?.info({ report }, 'pipeline finished')
    return report
  } catch (err) {
    await Promise.all(outputs.map(async (o) => { await o.sink.destroy?.(err as Error) }))
    throw err
  } finally {
    await cloudwatch?.stop()
    await ackChain.catch(() => undefined)
    await deadLetters.close().catch(() => undefined)
    await source?.close?.().catch(() => undefined)
    for (const { t } of transforms) await t.close?.().catch(() => undefined)
    await (pool as WorkerPool | null)?.close()
  }
}

/** The run's registry: the given one (or the built-ins) plus the definition's and the caller's own components, each once. */
function registryFor(def: PipelineDefinition, opts: { registry?: ComponentRegistry; components?: readonly ComponentSpec[] }): ComponentRegistry {
  const base = opts.registry ?? builtins
  return base.with([...componentsOf(def), ...(opts.components ?? [])].filter((c, i, all) => all.indexOf(c) === i && !base.get(c.kind, c.type)))
}

function withoutRelease(batch: LinesBatch): LinesBatch {
  const { releaseData: _dropped, ...rest } = batch
  return rest
}

function sum(list: readonly Batch[], derived: boolean): number {
  let n = 0
  for (const b of list) if ((b.derived === true) === derived) n += b.count
  return n
}

function optionsOf(e: ComponentEntry): Record<string, unknown> {
  const { type: _t, label: _l, ...options } = e
  return options
}

async function build(spec: ComponentSpec, e: ComponentEntry, ctx: BuildContext): Promise<unknown> {
  try {
    return await (spec.build as (o: Record<string, unknown>, c: BuildContext) => unknown)(spec.looseOptions ? e : optionsOf(e), ctx)
  } catch (cause) {
    if (cause instanceof MaifError && cause.code !== 'MAIF_ERR_INVALID_OPTION') throw cause
    throw wrapError('MAIF_ERR_INVALID_OPTION', `${spec.kind} '${ctx.label}' (${spec.type}) could not be built`, cause)
  }
}

async function buildSink(registry: ComponentRegistry, e: ComponentEntry, ctx: SinkBuildContext): Promise<SinkInstance> {
  return (await build(registry.get('sink', e.type)!, e, ctx)) as SinkInstance
}

/** For sinks whose resolved write() is durable: the engine reports each write as a commit. */
function acknowledgedOnWrite(sink: SinkInstance, acks: SinkAcks): SinkInstance {
  let records = 0
  return {
    async write(b) {
      const upTo = records + b.count
      await acks.committing(upTo)
      await sink.write(b)
      records = upTo
      acks.committed(upTo)
    },
    close: () => sink.close(),
    ...(sink.flush ? { flush: () => sink.flush!() } : {}),
    ...(sink.destroy ? { destroy: (err: Error) => sink.destroy!(err) } : {}),
    ...(sink.describe ? { describe: () => sink.describe!() } : {}),
  }
}

function sum0(m: Map<string, number>): number {
  let n = 0
  for (const v of m.values()) n += v
  return n
}

function retryPolicy(def: PipelineDefinition): RetryPolicy {
  const r = def.retry
  return { maxAttempts: r?.maxAttempts ?? 3, initialMs: r?.backoff?.initialMs ?? 100, maxMs: r?.backoff?.maxMs ?? 5000, multiplier: r?.backoff?.multiplier ?? 2 }
}

/** mode: all — every output gets every envelope; a write waits for the slowest output (backpressure). */
class FanOutAll extends Writable {
  readonly #outs: Output[]
  readonly #tracker: AckTracker
  readonly #all: number[]

  constructor(outs: Output[], tracker: AckTracker) {
    super({ objectMode: true, highWaterMark: 1 })
    this.#outs = outs
    this.#tracker = tracker
    this.#all = outs.map((_, i) => i)
  }

  override _write(g: Group, _e: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#tracker.register(g.token, g.envelopes, this.#all)
    const send = async (): Promise<void> => {
      for (const env of g.envelopes) await Promise.all(this.#outs.map((o) => o.sink.write(env)))
    }
    send().then(() => cb(), (err: unknown) => cb(err as Error))
  }

  override _final(cb: (err?: Error | null) => void): void {
    Promise.all(this.#outs.map((o) => o.sink.close())).then(() => cb(), (err: unknown) => cb(err as Error))
  }
}

/**
 * mode: fallback — envelopes go to the first output that works. When it fails, what it had not made durable
 * is replayed into the next one, so nothing acknowledged is lost and nothing is dropped.
 */
class FanOutFallback extends Writable {
  readonly #outs: Output[]
  readonly #tracker: AckTracker
  readonly #log: Logger | undefined
  #active = 0

  constructor(outs: Output[], tracker: AckTracker, log: Logger | undefined) {
    super({ objectMode: true, highWaterMark: 1 })
    this.#outs = outs
    this.#tracker = tracker
    this.#log = log
  }

  override _write(g: Group, _e: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#tracker.register(g.token, g.envelopes, [this.#active])
    this.#send(g.envelopes).then(() => cb(), (err: unknown) => cb(err as Error))
  }

  async #send(envelopes: readonly Batch[]): Promise<void> {
    for (const env of envelopes) {
      const at = this.#active
      try {
        await this.#outs[at]!.sink.write(env)
      } catch (err) {
        // The failed output's unconfirmed envelopes (this one among them) are replayed into the next one.
        if (this.#active === at) await this.#failover(err)
      }
    }
  }

  async #failover(err: unknown): Promise<void> {
    const from = this.#active
    this.#log?.warn({ output: from, err: (err as Error)?.message }, 'output failed; falling back to the next one')
    await Promise.resolve(this.#outs[from]!.sink.destroy?.(err as Error)).catch(() => undefined)
    this.#active++
    if (!this.#outs[this.#active]) throw wrapError('MAIF_ERR_IO', 'every output of the fallback sink failed', err)
    await this.#send(this.#tracker.reassign(from, this.#active))
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#finish().then(() => cb(), (err: unknown) => cb(err as Error))
  }

  async #finish(): Promise<void> {
    for (;;) {
      const at = this.#active
      try {
        await this.#outs[at]!.sink.close()
        break
      } catch (err) {
        this.#log?.warn({ output: at, err: (err as Error)?.message }, 'output failed at the end; falling back to the next one')
        await this.#failover(err)
      }
    }
    // Outputs never used still close cleanly (a container gets its header and a checkpoint).
    await Promise.all(this.#outs.slice(this.#active + 1).map((o) => o.sink.close()))
  }
}

/** What `maif validate` checks beyond the definition: each component's environment check, and that it builds. */
export async function checkEnvironment(def: PipelineDefinition, opts: { registry?: ComponentRegistry; components?: readonly ComponentSpec[]; cwd?: string; keyring?: string } = {}): Promise<string[]> {
  const registry = registryFor(def, opts)
  const cwd = opts.cwd ?? process.cwd()
  const problems: string[] = []
  const entries: Array<{ kind: 'source' | 'transform' | 'sink'; e: ComponentEntry; what: string }> = [
    { kind: 'source', e: def.source, what: 'source' },
    ...(def.transforms ?? []).map((e) => ({ kind: 'transform' as const, e, what: `stage ${e.label ?? e.type}` })),
    ...resolveSinks(def).outputs.map((e) => ({ kind: 'sink' as const, e, what: `output ${typeof e.path === 'string' ? e.path : e.label ?? e.type}` })),
    ...(resolveDeadLetter(def) ? [{ kind: 'sink' as const, e: resolveDeadLetter(def)!, what: `dead letters ${String(resolveDeadLetter(def)!.path ?? '')}` }] : []),
  ]
  try {
    problems.push(...(await pathConflicts(def, registry, cwd)).map((p) => `paths: ${p}`))
  } catch (err) {
    problems.push(`paths: ${err instanceof Error ? err.message : String(err)}`)
  }
  for (const { kind, e, what } of entries) {
    const spec = registry.get(kind, e.type)
    if (!spec?.check) continue
    try {
      await (spec.check as (o: Record<string, unknown>, c: unknown) => Promise<void>)(spec.looseOptions ? e : optionsOf(e), { cwd, label: e.label ?? e.type, keyringFlag: opts.keyring, defaultKeyring: def.security?.keyring, definition: def, report: (w: string, m: string) => problems.push(`${w}: ${m}`) })
    } catch (err) {
      problems.push(`${what}: ${err instanceof Error ? err.message : String(err)}`)
    }
  }
  return problems
}
