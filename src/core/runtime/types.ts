// The one module of types that pass between components: the batch envelope, acknowledgements, dead
// letters, and the instances that sources, transforms and sinks build. Components import their shared
// types from here, never from each other.
import type { Logger } from 'pino'
import type { ErrorCode } from '../errors.js'
import type { WorkerPool } from '../workers/worker-pool.js'
import type { RunMetrics } from './observability.js'
import type { RetryPolicy } from './record-fns.js'

/**
 * What a source attaches to each batch so that it can later learn which of its records are durable.
 * The engine never looks inside: a file source keeps byte offsets in it, a Kafka source offsets.
 */
export type AckToken = unknown

/** How the records of a batch are encoded. */
export type RecordFormat = 'json' | 'text' | 'binary'

interface EnvelopeFields {
  /** The source's token for the batch these records came from. */
  ack: AckToken
  /**
   * For each record, its ordinal in the source batch of `ack` (0-based). Absent means record i is
   * ordinal i. A transform that drops or adds records keeps it, so a partly durable batch can be
   * acknowledged exactly.
   */
  origin?: Uint32Array
  /** Records a transform added beside the source's (an embedding, an index entry), not read from it. */
  derived?: boolean
  /** FourCC a container frames these records as; default from the frame stage, else from `format`. */
  blockType?: string
  /**
   * Where these records belong, for sinks that split their output by it (a container path with
   * `{placeholders}`): a Kafka source sets `{ topic, partition }`. The engine passes it on untouched.
   */
  route?: Readonly<Record<string, string>>
  /**
   * Where each source record sits in an ordered stream, by ordinal like `origin` (a Kafka source: `stream`
   * "topic/partition", `at` the offsets as decimal strings). A container sink records the range of each block
   * in its authenticated public metadata, and on resume skips records its last checkpoint already holds.
   */
  positions?: { stream: string; at: readonly string[] }
  /**
   * On an empty envelope (count 0): the source sends no more records of `route` for now (a Kafka partition
   * lost in a rebalance). A sink that splits by route makes that route's output durable and releases it
   * (closes the container, so that the partition's next owner can append); other sinks ignore it.
   */
  release?: boolean
}

/** Line records: `data` holds `count` records, each ending with '\n'. */
export interface LinesBatch extends EnvelopeFields {
  kind: 'lines'
  format: 'json' | 'text'
  data: Buffer
  count: number
  /**
   * Hands the memory under `data` back to the source, which reads later input into it. Only the batch's one
   * consumer may call it, once nothing reads `data` (or a view of it) any more; not calling it is always safe.
   * The engine removes it unless the batch goes, untransformed, to a single output.
   */
  releaseData?: () => void
}

/** One piece of a binary object; a large object arrives as several pieces, the last with last: true. */
export interface BinaryPiece {
  data: Buffer
  name?: string
  meta?: Record<string, unknown>
  last?: boolean
}

/** Binary records: each object is one record; `count` is the number of objects that end in this batch. */
export interface BinaryBatch extends EnvelopeFields {
  kind: 'binary'
  format: 'binary'
  pieces: BinaryPiece[]
  count: number
}

/** The envelope every component passes on. */
export type Batch = LinesBatch | BinaryBatch

/**
 * Progress of acknowledgements, in source order: every token in `done` is durable in every output
 * (all of its records); of `partial.token`, the first `partial.records` records are.
 */
export interface AckProgress {
  done: AckToken[]
  partial?: { token: AckToken; records: number }
}

/** The sink commit a `prepare` call precedes. */
export interface CommitRef {
  /** The output's label. */
  output: string
  /** What the sink writes to (a container path), when it has one. */
  key?: string
  /** The container tree size the commit will make durable. */
  treeSize?: number
  /** Records of this output that the commit will make durable (cumulative). */
  records: number
}

/** A record that could not be processed, with why and its exact bytes. */
export interface DeadLetter {
  stage: string
  label: string
  code: ErrorCode | string
  reason: string
  attempts: number
  /** The record's bytes as text, when they are valid UTF-8. */
  raw?: string
  /** The record's bytes in base64, when they are not valid UTF-8 (then `encoding` is 'base64'). */
  rawBase64?: string
  encoding?: 'utf8' | 'base64'
  /** Set when the bytes are only the start of the record (a line too long to hold). */
  truncated?: boolean
  source?: { file?: string; line?: number; [k: string]: unknown }
}

/** What a component passes to `ctx.deadLetter`; the engine adds the stage and label. */
export interface DeadLetterInput {
  code: ErrorCode | string
  reason: string
  raw: Buffer | string
  attempts?: number
  truncated?: boolean
  source?: DeadLetter['source']
  /** Which record of which batch failed: the engine asks the source where it was read (file and line). */
  at?: { batch: Batch; record: number }
}

/** What every component's build() gets. */
export interface BuildContext {
  /** This component's type and label (its `label`, else its type). */
  type: string
  label: string
  /** Relative paths resolve against this. */
  cwd: string
  logger: Logger | undefined
  metrics: RunMetrics
  /** The CLI's --keyring, which overrides the pipeline's keyrings. */
  keyringFlag: string | undefined
  /** The pipeline's `security.keyring`. */
  defaultKeyring: string | undefined
  /** Worker threads shared by the whole run, started on first use. */
  pool(): WorkerPool
  /** Sends a record to the dead letters (the run fails if the pipeline has none). */
  deadLetter(d: DeadLetterInput): void
  /** Set once the run should stop gracefully: sources stop reading, everything flushes. */
  stop: AbortSignal
  /** The pipeline's retry policy (retry.*), for components that retry. */
  retry: RetryPolicy
  /** The outputs of the pipeline (a container's key is its path), for sources that key progress to one. */
  outputs: ReadonlyArray<{ type: string; label: string; key?: string }>
  /** The pipeline's batching defaults (batching.*), for components that batch. */
  batching: { count?: number; bytes?: number; periodMs?: number }
}

// ---------------------------------------------------------------- sources

export interface SourceStats {
  /** Records read, including those that went to the dead letters. */
  records: number
  bytes: number
  files?: number
  /** Total input bytes when known, for progress and ETA. */
  totalBytes?: number
}

export interface SourceInstance {
  /** Batches in source order; stops early (and returns) once `ctx.stop` is aborted. */
  batches(): AsyncIterable<Batch>
  /**
   * Write-ahead, before a sink makes records durable: `progress` is what every output will have made
   * durable if this commit succeeds, counted from the last `commit`. It must be durable itself when it
   * resolves (a cursor entry keyed by `ref`).
   */
  prepare?(progress: AckProgress, ref: CommitRef): void | Promise<void>
  /** After every output has made these records durable: commit Kafka offsets, mark objects done. */
  commit?(progress: AckProgress): void | Promise<void>
  stats(): SourceStats
  /** Where the record `ordinal` of the batch `token` was read, for dead letters of later stages. */
  locate?(token: AckToken, ordinal: number): DeadLetter['source']
  /**
   * Whether this run reads `where` again although an earlier run may already have dead-lettered it: it lies
   * after the durable position the run resumed from. The engine then does not write a dead letter that the
   * dead-letter output already holds for it (it still counts it, so counts reconcile).
   */
  rereads?(where: NonNullable<DeadLetter['source']>): boolean
  /** Where the source keeps its progress (a cursor file), for the report. */
  describe?(): { cursor?: string | null }
  close?(): Promise<void>
}

// ---------------------------------------------------------------- transforms

/** A record transform: each batch in, zero or more batches out (of any block type), in order. */
export interface TransformInstance {
  transform(batch: Batch): Batch[] | Promise<Batch[]>
  close?(): Promise<void>
}

// ---------------------------------------------------------------- sinks

/** How a sink tells the engine what it has made durable. `records` are cumulative, in input order. */
export interface SinkAcks {
  /** Before making records durable: runs the sources' write-ahead. Await it, then commit. */
  committing(records: number, ref?: { key?: string; treeSize?: number }): Promise<void>
  /** Once they are durable. */
  committed(records: number): void
}

export interface SinkInstance {
  /** Takes one batch; resolves when the sink can take another (backpressure). */
  write(batch: Batch): Promise<void>
  /** Everything is written: make it durable, report it, and release. */
  close(): Promise<void>
  /** Make everything written so far durable now, and report it (used for dead letters before a commit). */
  flush?(): Promise<void>
  /** Release after a failure, without flushing. */
  destroy?(err: Error): Promise<void> | void
  /** What the report shows: the path written, commits made. */
  describe?(): { path?: string | null; commits?: number }
}

export interface SinkBuildContext extends BuildContext {
  /** The engine's acknowledgement hooks; sinks with `acknowledgements: 'self'` call them. */
  acks: SinkAcks
  /** The block stages of the pipeline (entries after `frame`), as written, for sinks that frame blocks. */
  blockStages: readonly BlockStageEntry[]
  /** Run-wide security settings. */
  security: { requireEncryption: boolean }
  /** The pipeline name, recorded by sinks that record a writer. */
  pipeline: string
}

/** A block-stage entry as the container sink receives it. */
export interface BlockStageEntry {
  type: string
  label: string
  /** The entry's index in `transforms`, for messages. */
  index: number
  /** What the stage's build() returned: a descriptor the container write path understands. */
  stage: unknown
}
