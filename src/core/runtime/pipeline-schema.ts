// The one schema for declarative pipeline definitions. YAML, JSON and definePipeline() in .ts files all go
// through it; `maif schema` prints its JSON Schema for editor completion. Every object is strict (unknown keys
// are errors) except the options of plugin stages, which the stage registry validates when the engine builds
// the pipeline. No schema here has defaults or transforms, so the input and output types are the same:
// the definition the engine receives is exactly what the file says (see the resolve* helpers for defaults).
import { z } from 'zod'
import { BLOCK_TYPES, CODEC_NAMES, isWritableDataType } from '../format/format.js'

/** Stage types built into maif. Any other `type` in `transforms` is a plugin stage. */
export const BUILTIN_STAGE_TYPES = ['frame', 'compress', 'encrypt', 'chain', 'sign', 'validate-json'] as const
export type BuiltinStageType = (typeof BUILTIN_STAGE_TYPES)[number]
const BUILTIN = new Set<string>(BUILTIN_STAGE_TYPES)

export const SOURCE_FORMATS = ['jsonl', 'text', 'binary'] as const
export const SINK_TYPES = ['container', 'stdout', 'file'] as const
export const SINK_MODES = ['all', 'fallback'] as const
export const FSYNC_MODES = ['commit', 'never'] as const

/** Plugin stage names: letters, digits and single `-`, `_`, `.` or `:` separators, starting with a letter. */
export const PLUGIN_STAGE_TYPE_RE = /^[A-Za-z][A-Za-z0-9]*(?:[-_.:][A-Za-z0-9]+)*$/
/** Durations: an integer number of milliseconds, or a string such as "500ms", "2s", "1.5m", "1h". */
export const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/

/** Compression level ranges per codec (the values zstd-napi, zlib and brotli accept). */
export const CODEC_LEVELS: Readonly<Record<string, readonly [number, number] | null>> = {
  zstd: [-7, 22],
  gzip: [0, 9],
  brotli: [0, 11],
  none: null,
}

const posInt = (what: string) => z.int().min(1).describe(what)
const nonNegInt = (what: string) => z.int().min(0).describe(what)
const nonEmpty = (what: string) => z.string().min(1).describe(what)
const label = () => nonEmpty('name of this component in logs and metrics').optional()

const Duration = z
  .union([z.int().min(0), z.string().regex(DURATION_RE)], {
    error: 'expected a duration: an integer number of milliseconds, or a string such as "500ms", "2s", "1m"',
  })
  .describe('milliseconds, or a duration string such as "500ms", "2s", "1m", "1h"')

// ---------------------------------------------------------------- source

const FileSourceSchema = z
  .strictObject({
    type: z.literal('file'),
    path: nonEmpty('a file, a directory, a glob such as "logs/**/*.jsonl", or "-" for stdin').optional(),
    paths: z.array(nonEmpty('a file, directory or glob')).min(1).optional(),
    format: z.enum(SOURCE_FORMATS).describe('jsonl: one JSON record per line; text: one text record per line; binary: one record per file'),
    maxLineLength: posInt('longest accepted line in bytes; longer lines are dead-lettered').optional(),
    concurrency: posInt('files read at the same time').optional(),
    cursor: nonEmpty('file that records progress per input file, so a rerun resumes where it stopped').optional(),
    label: label(),
  })
  .superRefine((v, ctx) => {
    if ((v.path === undefined) === (v.paths === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: v.path === undefined ? [] : ['paths'],
        message: v.path === undefined ? 'a file source needs `path` or `paths`' : 'a file source takes `path` or `paths`, not both',
        params: { rule: 'schema/path-xor-paths', hint: 'use `path: <file|dir|glob|->` for one input, or `paths: [...]` for several' },
      })
    }
  })

const StdinSourceSchema = z.strictObject({
  type: z.literal('stdin'),
  format: z.enum(SOURCE_FORMATS),
  maxLineLength: posInt('longest accepted line in bytes').optional(),
  label: label(),
})

export const SourceSchema = z.discriminatedUnion('type', [FileSourceSchema, StdinSourceSchema])

// ---------------------------------------------------------------- transforms

const FrameStageSchema = z.strictObject({
  type: z.literal('frame'),
  label: label(),
  blockRecords: posInt('close a block after this many records').optional(),
  blockBytes: posInt('close a block after this many bytes').optional(),
  blockMs: nonNegInt('close a partial block after this many ms (0: only on count, bytes or end)').optional(),
  blockType: z
    .string()
    .refine(isWritableDataType, {
      message: `blockType must be a registered data type (${Object.keys(BLOCK_TYPES).join(', ')}) or a 4-character vendor type starting with 'X'`,
    })
    .meta({ description: 'FourCC data type of the blocks', examples: Object.keys(BLOCK_TYPES) })
    .optional(),
  agent: nonEmpty('agent id recorded in each block').optional(),
})

const CompressStageSchema = z
  .strictObject({
    type: z.literal('compress'),
    label: label(),
    codec: z.enum(CODEC_NAMES as unknown as ['none', 'zstd', 'gzip', 'brotli']).describe('default zstd').optional(),
    level: z.int().describe('codec level: zstd -7..22, gzip 0..9, brotli 0..11').optional(),
  })
  .superRefine((v, ctx) => {
    if (v.level === undefined) return
    const codec = v.codec ?? 'zstd'
    const range = CODEC_LEVELS[codec]
    if (!range) {
      ctx.addIssue({ code: 'custom', path: ['level'], message: `codec '${codec}' takes no level`, params: { rule: 'schema/codec-level', hint: 'remove `level`' } })
    } else if (v.level < range[0] || v.level > range[1]) {
      ctx.addIssue({
        code: 'custom',
        path: ['level'],
        message: `${codec} level must be from ${range[0]} to ${range[1]}, got ${v.level}`,
        params: { rule: 'schema/codec-level', hint: `use a level from ${range[0]} to ${range[1]}` },
      })
    }
  })

const EncryptStageSchema = z.strictObject({
  type: z.literal('encrypt'),
  label: label(),
  keyring: nonEmpty('keyring directory (default: security.keyring)').optional(),
})

const ChainStageSchema = z.strictObject({
  type: z.literal('chain'),
  label: label(),
  checkpointEvery: z
    .strictObject({
      blocks: posInt('write a checkpoint after this many blocks').optional(),
      ms: posInt('write a checkpoint after this many ms').optional(),
    })
    .optional(),
})

const SignStageSchema = z.strictObject({
  type: z.literal('sign'),
  label: label(),
})

const ValidateJsonStageSchema = z.strictObject({
  type: z.literal('validate-json'),
  label: label(),
  schema: z.record(z.string(), z.unknown()).describe('JSON Schema each record must match; records that do not are dead-lettered').optional(),
})

export const BuiltinStageSchema = z.discriminatedUnion('type', [
  FrameStageSchema,
  CompressStageSchema,
  EncryptStageSchema,
  ChainStageSchema,
  SignStageSchema,
  ValidateJsonStageSchema,
])

export const PluginStageSchema = z.looseObject({
  type: z
    .string()
    .regex(PLUGIN_STAGE_TYPE_RE, { message: 'a stage type is a name such as "redact-emails": letters, digits and -, _, . or : between them' })
    .refine((t) => !BUILTIN.has(t), { message: 'built-in stage types are checked by their own schema', abort: true })
    .meta({ description: 'name of a stage registered with the stage registry', not: { enum: [...BUILTIN_STAGE_TYPES] } }),
  label: label(),
})

export const TransformStageSchema = z.union([BuiltinStageSchema, PluginStageSchema])

// ---------------------------------------------------------------- sinks

const ContainerSinkSchema = z.strictObject({
  type: z.literal('container'),
  path: nonEmpty('the .maif container file to write'),
  fsync: z.enum(FSYNC_MODES).describe('commit (default): fsync at every checkpoint; never: leave it to the OS').optional(),
  label: label(),
})
const StdoutSinkSchema = z.strictObject({
  type: z.literal('stdout'),
  label: label(),
})
const FileSinkSchema = z.strictObject({
  type: z.literal('file'),
  path: nonEmpty('JSONL file to write'),
  label: label(),
})

export const SinkSchema = z.discriminatedUnion('type', [ContainerSinkSchema, StdoutSinkSchema, FileSinkSchema])

export const SinksSchema = z.strictObject({
  mode: z.enum(SINK_MODES).describe('all: every output gets every record; fallback: try outputs in order'),
  outputs: z.array(SinkSchema).min(1),
})

// ---------------------------------------------------------------- pipeline

export const DeadLetterSchema = z.strictObject({
  type: z.literal('file'),
  path: nonEmpty('JSONL file for records that could not be processed'),
})

export const BatchingSchema = z.strictObject({
  count: posInt('flush after this many records').optional(),
  bytes: posInt('flush after this many bytes').optional(),
  period: Duration.optional(),
})

export const RetrySchema = z.strictObject({
  maxAttempts: z.int().min(1).max(100).describe('attempts per operation, including the first').optional(),
  backoff: z
    .strictObject({
      initialMs: nonNegInt('delay before the first retry').optional(),
      maxMs: nonNegInt('longest delay between retries').optional(),
      multiplier: z.number().min(1).describe('growth factor of the delay').optional(),
    })
    .superRefine((v, ctx) => {
      if (v.initialMs !== undefined && v.maxMs !== undefined && v.maxMs < v.initialMs) {
        ctx.addIssue({
          code: 'custom',
          path: ['maxMs'],
          message: `backoff.maxMs (${v.maxMs}) is less than backoff.initialMs (${v.initialMs})`,
          params: { rule: 'schema/backoff-range', hint: 'make maxMs at least initialMs' },
        })
      }
    })
    .optional(),
})

export const SecuritySchema = z.strictObject({
  requireEncryption: z.boolean().describe('default true: a container sink needs an encrypt stage').optional(),
  keyring: nonEmpty('default keyring directory').optional(),
})

export const PipelineSchema = z
  .strictObject({
    $schema: z.string().describe('JSON Schema reference for editors; ignored').optional(),
    name: z
      .string()
      .regex(NAME_RE, { message: 'a pipeline name is letters, digits, ".", "_" and "-", starting with a letter or digit' })
      .describe('pipeline name, used in logs and metrics')
      .optional(),
    source: SourceSchema,
    transforms: z.array(TransformStageSchema).describe('stages, applied in order').optional(),
    sink: SinkSchema.optional(),
    sinks: SinksSchema.optional(),
    deadLetter: DeadLetterSchema.describe('default: <first container path>.dead-letter.jsonl').optional(),
    batching: BatchingSchema.optional(),
    retry: RetrySchema.optional(),
    concurrency: posInt('records or blocks processed at the same time').optional(),
    security: SecuritySchema.optional(),
    labels: z.record(z.string().min(1), z.string()).describe('extra labels for metrics and logs').optional(),
  })
  .superRefine((v, ctx) => {
    if (v.sink === undefined && v.sinks === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: 'a pipeline needs a `sink` (or `sinks` for several outputs)',
        params: { rule: 'schema/sink-xor-sinks', hint: 'add e.g. `sink: { type: container, path: out/data.maif }`' },
      })
    } else if (v.sink !== undefined && v.sinks !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['sinks'],
        message: 'a pipeline takes `sink` or `sinks`, not both',
        params: { rule: 'schema/sink-xor-sinks', hint: 'move the `sink` into `sinks.outputs`, or remove `sinks`' },
      })
    }
  })

export type PipelineDefinition = z.infer<typeof PipelineSchema>
export type SourceDefinition = z.infer<typeof SourceSchema>
export type FileSourceDefinition = z.infer<typeof FileSourceSchema>
export type StdinSourceDefinition = z.infer<typeof StdinSourceSchema>
export type TransformStageDefinition = z.infer<typeof TransformStageSchema>
export type BuiltinStageDefinition = z.infer<typeof BuiltinStageSchema>
export type PluginStageDefinition = z.infer<typeof PluginStageSchema>
export type FrameStageDefinition = z.infer<typeof FrameStageSchema>
export type CompressStageDefinition = z.infer<typeof CompressStageSchema>
export type EncryptStageDefinition = z.infer<typeof EncryptStageSchema>
export type ChainStageDefinition = z.infer<typeof ChainStageSchema>
export type SignStageDefinition = z.infer<typeof SignStageSchema>
export type ValidateJsonStageDefinition = z.infer<typeof ValidateJsonStageSchema>
export type SinkDefinition = z.infer<typeof SinkSchema>
export type ContainerSinkDefinition = z.infer<typeof ContainerSinkSchema>
export type SinksDefinition = z.infer<typeof SinksSchema>
export type DeadLetterDefinition = z.infer<typeof DeadLetterSchema>
export type BatchingDefinition = z.infer<typeof BatchingSchema>
export type RetryDefinition = z.infer<typeof RetrySchema>
export type SecurityDefinition = z.infer<typeof SecuritySchema>
export type Duration = z.infer<typeof Duration>

export function isBuiltinStageType(type: string): type is BuiltinStageType {
  return BUILTIN.has(type)
}

/** Narrows a stage: the plugin branch has `type: string`, so `stage.type === 'compress'` alone does not. */
export function isBuiltinStage(stage: TransformStageDefinition): stage is BuiltinStageDefinition {
  return BUILTIN.has(stage.type)
}

/** Stages that work on records (before `frame`) and on blocks (after it). Plugin stages are the engine's call. */
export function stageKind(type: string): 'record' | 'frame' | 'block' | 'plugin' {
  if (type === 'frame') return 'frame'
  if (type === 'validate-json') return 'record'
  return BUILTIN.has(type) ? 'block' : 'plugin'
}

/** Milliseconds of a schema duration (an int, or "500ms" / "2s" / "1.5m" / "1h"). */
export function parseDurationMs(d: number | string): number {
  if (typeof d === 'number') return d
  const m = DURATION_RE.exec(d)
  if (!m) throw new RangeError(`not a duration: ${JSON.stringify(d)}`)
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h']
  return Math.round(Number(m[1]) * unit)
}

/** The sinks as one list, whichever of `sink` / `sinks` the definition uses. */
export function resolveSinks(def: PipelineDefinition): SinksDefinition {
  if (def.sinks) return def.sinks
  return { mode: 'all', outputs: def.sink ? [def.sink] : [] }
}

/** The dead-letter file: the explicit one, else `<first container path>.dead-letter.jsonl`, else undefined. */
export function resolveDeadLetter(def: PipelineDefinition): DeadLetterDefinition | undefined {
  if (def.deadLetter) return def.deadLetter
  const container = resolveSinks(def).outputs.find((s) => s.type === 'container')
  return container && 'path' in container ? { type: 'file', path: `${container.path}.dead-letter.jsonl` } : undefined
}

/** `security.requireEncryption`, which defaults to true. */
export function encryptionRequired(def: PipelineDefinition): boolean {
  return def.security?.requireEncryption !== false
}

/** The keyring of the encrypt stage, else `security.keyring`, else undefined (the engine's default). */
export function resolveKeyring(def: PipelineDefinition): string | undefined {
  const enc = def.transforms?.find((s): s is EncryptStageDefinition => s.type === 'encrypt')
  return enc?.keyring ?? def.security?.keyring
}

export interface PipelineJsonSchemaOptions {
  /** JSON Schema dialect; default draft-2020-12. yaml-language-server and VS Code also accept draft-7. */
  target?: 'draft-2020-12' | 'draft-7'
}

/** JSON Schema of pipeline files, for `maif schema` and editor completion. */
export function pipelineJsonSchema(opts: PipelineJsonSchemaOptions = {}): Record<string, unknown> {
  const schema = z.toJSONSchema(PipelineSchema, { target: opts.target ?? 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>
  return { ...schema, title: 'maif pipeline definition', description: 'A maif stream-processing pipeline: source, ordered transforms, sink(s).' }
}
