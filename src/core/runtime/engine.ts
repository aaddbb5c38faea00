// The pipeline engine: builds a validated definition into Node streams and runs it with
// stream/promises pipeline: source → record stages → fan-out → per-output stages → sinks.
// Records are acknowledged (the cursor advances) only once a signed checkpoint covers them.
import { Transform, Writable, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { resolve } from 'node:path'
import { mkdirSync } from 'node:fs'
import type { Logger } from 'pino'
import { MaifError, wrapError } from '../errors.js'
import {
  encryptionRequired, isBuiltinStage, parseDurationMs, resolveDeadLetter, resolveKeyring, resolveSinks, stageKind,
  type ContainerSinkDefinition, type PipelineDefinition, type SinkDefinition, type TransformStageDefinition,
} from './pipeline-schema.js'
import { formatIssue, PipelineDefError, validatePipeline } from './pipeline-def.js'
import { loadKeyring, resolveKeyringDir, type LocalKeyring } from '../format/keyring.js'
import { WriterSession } from '../container/session.js'
import { WorkerPool } from '../workers/worker-pool.js'
import { Cursor } from '../../sources/file/cursor.js'
import { StageRegistry, type StageContext } from './registry.js'
import { RunMetrics, type StageCounters } from './observability.js'
import { BlockFramer, type FramerOptions } from '../container/write/framer.js'
import { Compressor } from '../container/write/compressor.js'
import { Encryptor } from '../container/write/encryptor.js'
import { HashChainer } from '../container/write/hash-chainer.js'
import { CheckpointSigner } from '../container/write/signer.js'
import { RecordStages, type BoundStage, type DeadLetter, type RetryPolicy } from './record-stages.js'
import { validateJsonStage } from '../../transforms/validate-json.js'
import { ContainerSink } from '../container/write/appender.js'
import { JsonlSink } from '../../sinks/jsonl.js'
import { DeadLetterFile } from './dead-letters.js'
import { engineSource, expandInputs, type FileSourceStats, type SourceItem } from '../../sources/file/read.js'
import { Readable } from 'node:stream'
import type { Commit } from '../container/blocks.js'

export const builtinStages = new StageRegistry().register('validate-json', validateJsonStage)

export interface RunOptions {
  registry?: StageRegistry
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
  /** Called once a container commit is durable (and the cursor moved). */
  onCommit?: (sink: string, c: Commit) => void
}

export interface RunReport {
  pipeline: string
  status: 'completed' | 'stopped'
  recordsIn: number
  delivered: number
  deadLetters: number
  dropped: number
  reconciled: boolean
  files: number
  bytes: number
  outputs: Array<{ type: string; path: string | null; records: number; commits: number }>
  deadLetterFile: string | null
  cursor: string | null
  durationMs: number
}

interface Output {
  def: SinkDefinition
  /** Head of this output's chain of streams; takes source items (line batches / binary pieces). */
  head: Writable
  done: Promise<void>
  records: () => number
  commits: number
  session?: WriterSession
  /** Set by the fallback fan-out: told how many records this output has made durable. */
  onCommitted?: (records: number) => void
}

/** Runs a pipeline definition to completion (or to a graceful stop) and reports what happened. */
export async function runPipeline(def: PipelineDefinition, opts: RunOptions = {}): Promise<RunReport> {
  const started = Date.now()
  const registry = opts.registry ?? builtinStages
  const problems = validatePipeline(def, { knownStages: registry.names() }).filter((i) => i.severity === 'error')
  if (problems.length) throw new PipelineDefError('MAIF_ERR_PIPELINE_DEF', `the pipeline is invalid:\n${problems.map(formatIssue).join('\n')}`, problems)
  const cwd = opts.cwd ?? process.cwd()
  const name = def.name ?? 'pipeline'
  const metrics = opts.metrics ?? new RunMetrics(name, def.labels)
  const log = opts.logger?.child({ pipeline: name })
  const transforms = def.transforms ?? []
  const frameAt = transforms.findIndex((s) => s.type === 'frame')
  const recordDefs = frameAt === -1 ? transforms.filter((s) => stageKind(s.type) !== 'block') : transforms.slice(0, frameAt)
  const blockDefs = frameAt === -1 ? transforms.filter((s) => stageKind(s.type) === 'block') : transforms.slice(frameAt)
  const sinks = resolveSinks(def)
  const containers = sinks.outputs.filter((o): o is ContainerSinkDefinition => o.type === 'container')
  const format = def.source.format
  if (format === 'binary' && recordDefs.length > 0) throw new MaifError('MAIF_ERR_INVALID_OPTION', 'record stages need line input (jsonl or text), not binary')
  if (format === 'binary' && sinks.outputs.some((o) => o.type !== 'container')) throw new MaifError('MAIF_ERR_INVALID_OPTION', 'binary input can only go to container sinks')

  // Build-time checks and resources: keyring, record stages, dead letters, cursor.
  let keyring: LocalKeyring | undefined
  if (containers.length > 0) {
    const dir = resolveKeyringDir({ flag: opts.keyring, pipeline: resolveKeyring(def) })
    if (!dir) throw new MaifError('MAIF_ERR_KEY_UNAVAILABLE', 'a container sink needs a keyring for its signing key (and its data keys): set encrypt.keyring, security.keyring or MAIF_KEYRING')
    keyring = await loadKeyring(resolve(cwd, dir))
  }
  const retry = retryPolicy(def)
  const bound: BoundStage[] = recordDefs.map((s) => bindStage(s, registry, metrics))
  const dlDef = resolveDeadLetter(def)
  const deadLetters = dlDef ? new DeadLetterFile(resolve(cwd, dlDef.path)) : null
  const deadLetter = (d: DeadLetter): void => {
    metrics.deadLetters++
    if (!deadLetters) throw new MaifError('MAIF_ERR_RECORD', `a record failed (${d.code}: ${d.reason}) and the pipeline has no deadLetter output`)
    deadLetters.write(d)
  }
  const cursorPath = def.source.type === 'file' && def.source.cursor ? resolve(cwd, def.source.cursor) : null
  if (cursorPath && (containers.length === 0 || sinks.mode !== 'all')) {
    throw new MaifError('MAIF_ERR_INVALID_OPTION', 'a cursor needs a container sink to commit to (and sinks mode "all"): it advances on container checkpoints')
  }
  const primary = containers[0] ? resolve(cwd, containers[0].path) : null
  const cursor = cursorPath && primary ? await Cursor.load(cursorPath, primary) : null

  // Threads only where there is CPU work to share: JSON validation and block compression.
  const pool = format === 'jsonl' || containers.length > 0 ? new WorkerPool(Math.max(1, Math.min(def.concurrency ?? 2, 8))) : null
  const stats: FileSourceStats = { files: 0, lines: 0, accepted: 0, rejected: 0, bytes: 0 }
  const outputs: Output[] = []
  try {
    // Positions of batches sent to the outputs, in order, with the running record count: a commit
    // covering R records makes every position up to R durable.
    // Only positions are kept (never the batch data), and only when a cursor needs them.
    const pending: Array<{ upTo: number; count: number; pos: SourceItem['pos']; ends: Float64Array | null; lines: Float64Array | null }> = []
    let sent = 0
    const onCheckpoint = (c: Commit): void => {
      if (!cursor || !primary) return
      while (pending.length > 0 && pending[0]!.upTo <= c.records) {
        const { pos } = pending.shift()!
        cursor.advance(pos.file, { offset: pos.offset, line: pos.line, done: pos.last })
      }
      // A block boundary can fall inside a batch: resume right after its last committed record.
      const part = pending[0]
      if (part?.ends && part.lines) {
        const k = c.records - (part.upTo - part.count)
        if (k > 0) cursor.advance(part.pos.file, { offset: part.ends[k - 1]!, line: part.lines[k - 1]!, done: false })
      }
      deadLetters?.sync()
      cursor.record(primary, c.treeSize, c.records)
    }
    for (const o of sinks.outputs) outputs.push(await buildOutput(o, { def, blockDefs, keyring, pool, metrics, cwd, format, onCheckpoint: o === containers[0] ? onCheckpoint : undefined, opts }))

    const files = def.source.type === 'stdin' ? ['-'] : await expandInputs(def.source, cwd)
    // Known input size gives progress an ETA (stdin has none); a resumed run only reads what is left.
    if (!files.includes('-')) {
      const { stat } = await import('node:fs/promises')
      let total = 0
      for (const f of files) {
        const p = cursor?.position(f)
        total += p?.done ? 0 : (await stat(f)).size - (p?.offset ?? 0)
      }
      metrics.source.totalBytes = total
    }
    const source = Readable.from(engineSource(files, {
      format, pool, stats, concurrency: def.source.type === 'file' ? def.source.concurrency ?? 1 : 1,
      maxLineLength: def.source.maxLineLength ?? 16 << 20,
      onReject: (r) => deadLetter({ stage: 'source', label: def.source.label ?? 'source', code: r.code, reason: r.reason, attempts: 1, raw: r.raw, ...(r.truncated ? { truncated: true } : {}), source: { file: r.file, line: r.line } }),
      ...(cursor ? { start: (f: string) => cursor.position(f) } : {}),
      ...(opts.stop ? { stop: opts.stop } : {}),
    }), { objectMode: true, highWaterMark: 2 })
    const sourceCounter = metrics.stage('source', def.source.label ?? 'source')
    const count = new Transform({
      objectMode: true, highWaterMark: 2,
      transform(item: SourceItem, _e, cb: TransformCallback) {
        const n = item.kind === 'lines' ? item.count : item.pieces.filter((p) => p.last !== false).length
        sent += n
        if (cursor) pending.push({ upTo: sent, count: n, pos: item.pos, ends: item.kind === 'lines' ? item.ends : null, lines: item.kind === 'lines' ? item.lines : null })
        metrics.source.records = stats.lines || sent
        metrics.source.bytes = stats.bytes
        metrics.source.files = stats.files
        sourceCounter.recordsOut = stats.accepted
        cb(null, item)
      },
    })
    const stages: Transform[] = bound.length ? [new RecordStages({ stages: bound, json: format === 'jsonl', retry, deadLetter, observe: (c, ms) => metrics.observeLatency(c as StageCounters, ms) })] : []
    const fan = sinks.mode === 'all' ? new FanOutAll(outputs) : new FanOutFallback(outputs, log)
    log?.info({ files: files.length, outputs: outputs.length, cursor: cursorPath }, 'pipeline started')
    // The fan-out waits for its outputs (all of them, or the one a fallback ended on) before it finishes.
    await pipeline([source, ...stages, count, fan], opts.signal ? { signal: opts.signal } : {})
    metrics.delivered = sent
    if (format === 'binary') {
      metrics.source.records = sent
    }
    const recordsIn = format === 'binary' ? sent : stats.lines
    const report: RunReport = {
      pipeline: name, status: opts.stop?.aborted ? 'stopped' : 'completed', recordsIn, delivered: sent, deadLetters: metrics.deadLetters,
      dropped: metrics.dropped, reconciled: recordsIn === sent + metrics.deadLetters + metrics.dropped, files: stats.files, bytes: stats.bytes,
      outputs: outputs.map((o) => ({ type: o.def.type, path: 'path' in o.def ? resolve(cwd, o.def.path) : null, records: o.records(), commits: o.commits })),
      deadLetterFile: deadLetters?.count ? deadLetters.path : null, cursor: cursorPath, durationMs: Date.now() - started,
    }
    log?.info({ report }, 'pipeline finished')
    return report
  } finally {
    deadLetters?.close()
    cursor?.close()
    await pool?.close()
    await Promise.all(outputs.map((o) => o.session?.close().catch(() => undefined)))
  }
}

function retryPolicy(def: PipelineDefinition): RetryPolicy {
  const r = def.retry
  return { maxAttempts: r?.maxAttempts ?? 3, initialMs: r?.backoff?.initialMs ?? 100, maxMs: r?.backoff?.maxMs ?? 5000, multiplier: r?.backoff?.multiplier ?? 2 }
}

function bindStage(s: TransformStageDefinition, registry: StageRegistry, metrics: RunMetrics): BoundStage {
  const plugin = registry.get(s.type)
  if (!plugin) throw new MaifError('MAIF_ERR_INVALID_OPTION', `no stage named '${s.type}' is registered (registered: ${registry.names().join(', ')})`)
  const label = s.label ?? s.type
  const { type: _t, label: _l, ...options } = s as Record<string, unknown>
  const ctx: StageContext = { label }
  try {
    const counters = metrics.stage(s.type, label)
    if (plugin.createBatch) return { stage: s.type, label, batch: plugin.createBatch(options, ctx), counters }
    return { stage: s.type, label, fn: plugin.create!(options, ctx), counters }
  } catch (cause) {
    throw wrapError('MAIF_ERR_INVALID_OPTION', `stage '${label}' (${s.type}) refused its options`, cause)
  }
}

interface BuildCtx {
  def: PipelineDefinition
  blockDefs: TransformStageDefinition[]
  keyring: LocalKeyring | undefined
  pool: WorkerPool | null
  metrics: RunMetrics
  cwd: string
  format: string
  onCheckpoint: ((c: Commit) => void) | undefined
  opts: RunOptions
}

async function buildOutput(o: SinkDefinition, b: BuildCtx): Promise<Output> {
  if (o.type !== 'container') {
    const sink = new JsonlSink(o.type === 'file' ? resolve(b.cwd, o.path) : null)
    if (o.type === 'file') mkdirSync(resolve(b.cwd, o.path, '..'), { recursive: true })
    const counter = b.metrics.stage(o.type, o.label ?? o.type)
    const meter = meterStage(counter)
    const out: Output = { def: o, head: meter, done: Promise.resolve(), records: () => sink.records, commits: 0 }
    out.done = pipeline(meter, sink)
    out.done.catch(() => undefined) // surfaced through the main pipeline or the fan-out, never unhandled
    sink.on('written', (records: number) => out.onCommitted?.(records))
    return out
  }
  const path = resolve(b.cwd, o.path)
  mkdirSync(resolve(path, '..'), { recursive: true })
  const bs = b.blockDefs.filter(isBuiltinStage)
  const frame = bs.find((s) => s.type === 'frame')
  const compress = bs.find((s) => s.type === 'compress')
  const chain = bs.find((s) => s.type === 'chain')
  const encrypt = bs.some((s) => s.type === 'encrypt')
  if (!encrypt && encryptionRequired(b.def)) {
    throw new MaifError('MAIF_ERR_ENCRYPTION_REQUIRED', `container ${o.path} has no encrypt stage; add one, or set security.requireEncryption: false to write a plaintext container`)
  }
  const kr = b.keyring!
  const session = await WriterSession.open(path, { keyProvider: kr, signer: kr.signer, encryption: encrypt ? 'required' : 'none', writer: `maif run ${b.def.name ?? ''}`.trim() })
  const batching = b.def.batching
  const framerOpts: FramerOptions = {
    mode: b.format === 'binary' ? 'binary' : 'lines',
    type: frame?.type === 'frame' && frame.blockType ? frame.blockType : b.format === 'text' ? 'TEXT' : b.format === 'binary' ? 'BINA' : 'JSON',
  }
  const fr = frame?.type === 'frame' ? frame : undefined
  const blockRecords = fr?.blockRecords ?? batching?.count
  const blockBytes = fr?.blockBytes ?? batching?.bytes
  const blockMs = fr?.blockMs ?? (batching?.period === undefined ? undefined : parseDurationMs(batching.period))
  if (blockRecords !== undefined) framerOpts.blockRecords = blockRecords
  if (blockBytes !== undefined) framerOpts.blockBytes = blockBytes
  if (blockMs !== undefined) framerOpts.blockMs = blockMs
  if (fr?.agent) framerOpts.agent = fr.agent
  const c = compress?.type === 'compress' ? compress : undefined
  const ch = chain?.type === 'chain' ? chain : undefined
  // A container is always chained and signed: without those stages it would not verify.
  const chainer = new HashChainer({ session, ...(ch?.checkpointEvery ? { checkpointEvery: ch.checkpointEvery } : {}) })
  if (b.onCheckpoint) chainer.on('checkpoint', b.onCheckpoint)
  const sink = new ContainerSink({ session, ...(o.fsync ? { fsync: o.fsync } : {}) })
  const label = o.label ?? 'container'
  const stages: Transform[] = [
    toFramerInput(),
    new BlockFramer(framerOpts), meterStage(b.metrics.stage('frame', fr?.label ?? 'frame')),
    new Compressor({ codec: c?.codec ?? 'zstd', ...(c?.level === undefined ? {} : { level: c.level }), ...(b.pool ? { pool: b.pool } : {}) }), meterStage(b.metrics.stage('compress', c?.label ?? 'compress')),
    ...(encrypt ? [new Encryptor({ session }), meterStage(b.metrics.stage('encrypt', 'encrypt'))] : []),
    chainer, new CheckpointSigner({ signer: session.signer }),
  ]
  let records = 0
  const out: Output = { def: o, head: stages[0]!, done: Promise.resolve(), records: () => records, commits: 0, session }
  sink.on('commit', (cm: Commit) => {
    records = cm.records
    out.commits++
    b.metrics.stage('container', label).recordsOut = cm.records
    out.onCommitted?.(cm.records)
    b.opts.onCommit?.(path, cm)
  })
  out.done = pipeline([...stages, sink])
  out.done.catch(() => undefined) // surfaced through the main pipeline or the fan-out, never unhandled
  return out
}

/** The framer takes line batches as they are and binary pieces as arrays. */
function toFramerInput(): Transform {
  return new Transform({
    objectMode: true, highWaterMark: 2,
    transform(item: SourceItem, _e, cb: TransformCallback) {
      if (item.kind === 'binary') cb(null, item.pieces)
      else cb(null, { kind: 'lines', data: item.data, count: item.count })
    },
  })
}

/** Counts what passes between two stages (records and bytes), for metrics; one cheap hop per chunk. */
function meterStage(c: StageCounters): Transform {
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

/** mode: all — every output gets every batch; a write waits for the slowest output (backpressure). */
class FanOutAll extends Writable {
  readonly #outs: Output[]

  constructor(outs: Output[]) {
    super({ objectMode: true, highWaterMark: 1 })
    this.#outs = outs
  }

  override _write(item: SourceItem, _e: BufferEncoding, cb: (err?: Error | null) => void): void {
    const waits = this.#outs.filter((o) => !o.head.write(item)).map((o) => waitDrain(o))
    if (waits.length === 0) return cb()
    Promise.all(waits).then(() => cb(), (err: unknown) => cb(err as Error))
  }

  override _final(cb: (err?: Error | null) => void): void {
    for (const o of this.#outs) o.head.end()
    Promise.all(this.#outs.map((o) => o.done)).then(() => cb(), (err: unknown) => cb(err as Error))
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    for (const o of this.#outs) if (!o.head.destroyed) o.head.destroy(err ?? undefined)
    cb(err)
  }
}

/**
 * mode: fallback — batches go to the first output that works. When it fails, what it had not
 * committed is replayed into the next one, so nothing acknowledged is lost and nothing is dropped.
 */
class FanOutFallback extends Writable {
  readonly #outs: Output[]
  readonly #log: Logger | undefined
  #active = 0
  /** Batches the active output holds but has not committed, with its running record count. */
  #held: Array<{ item: SourceItem; upTo: number }> = []
  #sent = 0

  constructor(outs: Output[], log: Logger | undefined) {
    super({ objectMode: true, highWaterMark: 1 })
    this.#outs = outs
    this.#log = log
    outs.forEach((o, i) => {
      o.done.catch(() => undefined) // a failed output is handled by switching to the next one
      o.onCommitted = (records) => { if (i === this.#active) this.#held = this.#held.filter((h) => h.upTo > records) }
    })
  }

  override _write(item: SourceItem, _e: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#send(item).then(() => cb(), (err: unknown) => cb(err as Error))
  }

  #hold(_o: Output, item: SourceItem): void {
    // Held until the output confirms: a container once a checkpoint covers it, a file once it is written.
    this.#sent += item.kind === 'lines' ? item.count : item.pieces.filter((p) => p.last !== false).length
    this.#held.push({ item, upTo: this.#sent })
  }

  async #send(item: SourceItem): Promise<void> {
    let batch = [item]
    for (;;) {
      const o = this.#outs[this.#active]
      if (!o) throw new MaifError('MAIF_ERR_IO', 'every output of the fallback sink failed')
      try {
        for (const it of batch) {
          this.#hold(o, it)
          await Promise.race([o.head.write(it) ? Promise.resolve() : waitDrain(o), o.done.then(() => undefined)])
          if (o.head.errored) throw o.head.errored
        }
        return
      } catch (err) {
        this.#log?.warn({ output: this.#active, err: (err as Error).message }, 'output failed; falling back to the next one')
        // Everything the failed output had not committed goes to the next one, in order.
        const replay = this.#held.map((h) => h.item)
        batch = replay.includes(item) ? replay : [...replay, item]
        this.#held = []
        this.#sent = 0
        this.#active++
      }
    }
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#finish().then(() => cb(), (err: unknown) => cb(err as Error))
  }

  async #finish(): Promise<void> {
    for (;;) {
      const o = this.#outs[this.#active]
      if (!o) throw new MaifError('MAIF_ERR_IO', 'every output of the fallback sink failed')
      o.head.end()
      try {
        await o.done
        for (const rest of this.#outs.slice(this.#active + 1)) rest.head.end()
        return
      } catch (err) {
        // Failed while flushing: what it had not confirmed goes to the next output.
        this.#log?.warn({ output: this.#active, err: (err as Error).message }, 'output failed at the end; falling back to the next one')
        const replay = this.#held.map((h) => h.item)
        this.#held = []
        this.#sent = 0
        this.#active++
        const next = this.#outs[this.#active]
        if (!next) throw wrapError('MAIF_ERR_IO', 'every output of the fallback sink failed', err)
        for (const it of replay) {
          this.#hold(next, it)
          if (!next.head.write(it)) await waitDrain(next)
        }
      }
    }
  }
}

function waitDrain(o: Output): Promise<void> {
  return new Promise((res, rej) => {
    const onDrain = (): void => { o.head.off('error', onErr); res() }
    const onErr = (e: Error): void => { o.head.off('drain', onDrain); rej(e) }
    o.head.once('drain', onDrain)
    o.head.once('error', onErr)
    o.done.catch(onErr)
  })
}

/** What `maif validate` checks beyond the definition: keyring, inputs, writable outputs, stage options. */
export async function checkEnvironment(def: PipelineDefinition, registry: StageRegistry = builtinStages, cwd = process.cwd(), keyringFlag?: string): Promise<string[]> {
  const problems: string[] = []
  const { access, stat } = await import('node:fs/promises')
  const { constants } = await import('node:fs')
  const { dirname } = await import('node:path')
  const attempt = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn()
    } catch (err) {
      problems.push(`${what}: ${err instanceof Error ? err.message : String(err)}`)
    }
  }
  const sinks = resolveSinks(def)
  if (sinks.outputs.some((o) => o.type === 'container')) {
    const dir = resolveKeyringDir({ flag: keyringFlag, pipeline: resolveKeyring(def) })
    if (!dir) problems.push('keyring: a container sink needs a keyring (encrypt.keyring, security.keyring or MAIF_KEYRING)')
    else await attempt('keyring', () => loadKeyring(resolve(cwd, dir)))
  }
  if (def.source.type === 'file') {
    await attempt('inputs', async () => {
      const files = await expandInputs(def.source as { path?: string; paths?: string[] }, cwd)
      if (files.length === 0) throw new Error('no input file matches')
    })
  }
  const writable = async (path: string): Promise<void> => {
    // The nearest existing directory must be writable (missing ones are created at run time).
    let dir = dirname(resolve(cwd, path))
    for (;;) {
      try {
        if ((await stat(dir)).isDirectory()) break
      } catch {
        const up = dirname(dir)
        if (up === dir) break
        dir = up
        continue
      }
    }
    await access(dir, constants.W_OK)
  }
  for (const o of sinks.outputs) if ('path' in o) await attempt(`output ${o.path}`, () => writable(o.path))
  const dl = resolveDeadLetter(def)
  if (dl) await attempt(`dead letters ${dl.path}`, () => writable(dl.path))
  const metrics = new RunMetrics('validate')
  for (const s of def.transforms ?? []) {
    if (stageKind(s.type) === 'record' || stageKind(s.type) === 'plugin') await attempt(`stage ${s.label ?? s.type}`, async () => bindStage(s, registry, metrics))
  }
  return problems
}
