// Record stages written as plain functions (the form pipelines used before components): a module's
// `stages = { name: recordStage(fn, validate) }` becomes one transform component per name, with options
// checked by the stage's own validate function when the pipeline is built.
import { z } from 'zod'
import { defineTransform, type TransformSpec } from './component.js'
import { mapBatches, mapRecords, type BatchFn, type PipelineRecord, type RecordFn } from './record-fns.js'

export type { PipelineRecord, RecordFn, BatchFn, LineRecords } from './record-fns.js'

export interface StageContext {
  label: string
}

export interface RecordStagePlugin {
  /** Checks options and builds the per-record function; throw a MaifError to refuse bad options. */
  create?(options: Readonly<Record<string, unknown>>, ctx: StageContext): RecordFn
  /** Or the batch form, for stages that can work on many records at once (one call per batch, not per record). */
  createBatch?(options: Readonly<Record<string, unknown>>, ctx: StageContext): BatchFn
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

/** Transform components for record-stage plugins (name → plugin). Their options are theirs to validate. */
export function componentsFromStages(stages: Readonly<Record<string, RecordStagePlugin>>): TransformSpec[] {
  return Object.entries(stages).map(([type, plugin]) => {
    if (typeof plugin?.create !== 'function' && typeof plugin?.createBatch !== 'function') {
      throw new TypeError(`stage '${type}' needs a create(options, ctx) or createBatch(options, ctx) function`)
    }
    return defineTransform({
      type,
      description: `record stage '${type}' (its options are checked by the stage when the pipeline is built)`,
      options: {},
      looseOptions: true,
      build(options, ctx) {
        const { type: _t, label: _l, ...rest } = options as Record<string, unknown>
        const fnCtx = { type, label: ctx.label, retry: ctx.retry, metrics: ctx.metrics, deadLetter: ctx.deadLetter }
        if (plugin.createBatch) return mapBatches(plugin.createBatch(rest, { label: ctx.label }), fnCtx)
        return mapRecords(plugin.create!(rest, { label: ctx.label }), fnCtx)
      },
    })
  })
}

// `z` is re-exported for component authors so that their option schemas use the same zod as the registry.
export { z }
