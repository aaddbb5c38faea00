// The stage registry: built-in and user stages by name. A user stage written in TypeScript plugs into a
// pipeline definition as `{ type: 'its-name', ...options }`; its options are validated when the pipeline
// is built, never halfway through a run.
import { MaifError } from '../errors.js'

/** One record as record stages see it: `value` is the parsed JSON (jsonl) or the string (text). */
export interface PipelineRecord {
  value: unknown
  /** The record's bytes as read; a stage that returns the record unchanged keeps them byte for byte. */
  raw: Buffer
}

/**
 * Returns the record object it was given to keep it byte for byte, a new record object to replace it
 * (its `value` is re-serialised), or null to drop it on purpose. Throwing dead-letters it.
 */
export type RecordFn = (record: PipelineRecord) => PipelineRecord | null | Promise<PipelineRecord | null>

export interface StageContext {
  label: string
}

/**
 * A whole batch of line records at once: `data` holds `count` records, each ending with '\n'. A batch
 * function returns the same number of records (it may rewrite them), so their source positions hold.
 */
export interface LineRecords { data: Buffer; count: number }
export type BatchFn = (batch: LineRecords) => LineRecords | Promise<LineRecords>

export interface RecordStagePlugin {
  /** Checks options and builds the per-record function; throw a MaifError to refuse bad options. */
  create?(options: Readonly<Record<string, unknown>>, ctx: StageContext): RecordFn
  /**
   * Or the batch form, for stages that can work on many records at once (one call per ~1 MiB, not
   * per record). If it throws, every record of the batch is dead-lettered with the error.
   */
  createBatch?(options: Readonly<Record<string, unknown>>, ctx: StageContext): BatchFn
}

export class StageRegistry {
  readonly #stages = new Map<string, RecordStagePlugin>()

  register(name: string, plugin: RecordStagePlugin): this {
    if (!/^[A-Za-z][A-Za-z0-9]*(?:[-_.:][A-Za-z0-9]+)*$/.test(name)) throw new MaifError('MAIF_ERR_INVALID_OPTION', `'${name}' is not a valid stage name`)
    if (this.#stages.has(name)) throw new MaifError('MAIF_ERR_INVALID_OPTION', `a stage named '${name}' is already registered`)
    if (typeof plugin?.create !== 'function' && typeof plugin?.createBatch !== 'function') {
      throw new MaifError('MAIF_ERR_INVALID_OPTION', `stage '${name}' needs a create(options, ctx) or createBatch(options, ctx) function`)
    }
    this.#stages.set(name, plugin)
    return this
  }

  get(name: string): RecordStagePlugin | undefined {
    return this.#stages.get(name)
  }

  names(): string[] {
    return [...this.#stages.keys()]
  }

  /** A copy with more stages: a pipeline module's own stages never leak into the shared registry. */
  with(stages: Readonly<Record<string, RecordStagePlugin>> | undefined): StageRegistry {
    const r = new StageRegistry()
    for (const [n, p] of this.#stages) r.register(n, p)
    for (const [n, p] of Object.entries(stages ?? {})) r.register(n, p)
    return r
  }
}

/** Convenience for the common case: a stage defined by a function of (record, options). */
export function recordStage<O extends Record<string, unknown>>(
  fn: (record: PipelineRecord, options: O) => PipelineRecord | null | Promise<PipelineRecord | null>,
  validate?: (options: Readonly<Record<string, unknown>>) => O,
): RecordStagePlugin {
  return {
    create(options) {
      const o = validate ? validate(options) : (options as O)
      return (r) => fn(r, o)
    },
  }
}
