// The schema of pipeline definitions, derived from a component registry: `source`, `transforms`, `sink(s)`
// and `deadLetter` are discriminated unions of the registered components' entry schemas, so YAML, JSON and
// definePipeline() in .ts files all go through the same strict checks, and `maif schema` prints the JSON
// Schema of exactly what is registered. The top-level settings (retry, batching, security, …) are fixed here.
// No schema has defaults or transforms: the definition the engine receives is exactly what the file says.
import { z } from 'zod'
import { builtins, entrySchema, type ComponentKind, type ComponentRegistry } from './component.js'
import { awsOptionsSchema } from '../aws/config.js'

export const SINK_MODES = ['all', 'fallback'] as const

/** Durations: an integer number of milliseconds, or a string such as "500ms", "2s", "1.5m", "1h". */
export const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/

const posInt = (what: string) => z.int().min(1).describe(what)
const nonNegInt = (what: string) => z.int().min(0).describe(what)

export const Duration = z
  .union([z.int().min(0), z.string().regex(DURATION_RE)], {
    error: 'expected a duration: an integer number of milliseconds, or a string such as "500ms", "2s", "1m"',
  })
  .describe('milliseconds, or a duration string such as "500ms", "2s", "1m", "1h"')

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
  keyring: z.string().min(1).describe('default keyring directory').optional(),
  fips: z.boolean().describe('refuse to run unless Node runs an OpenSSL FIPS provider (crypto.getFips() = 1); then Ed25519 signing keys are refused').optional(),
})

/** One component entry: `{ type, label?, ...options }`; its options are checked by the component's schema. */
export interface ComponentEntry {
  type: string
  label?: string
  [option: string]: unknown
}

export interface SinksDefinition { mode: (typeof SINK_MODES)[number]; outputs: ComponentEntry[] }
export type BatchingDefinition = z.infer<typeof BatchingSchema>
export type RetryDefinition = z.infer<typeof RetrySchema>
/** `observability.cloudwatch`: pipeline counters to CloudWatch metrics (PutMetricData). */
export const ObservabilitySchema = z.strictObject({
  cloudwatch: z.strictObject({
    namespace: z.string().min(1).max(255).regex(/^[^:]/, 'a CloudWatch namespace cannot start with ":"').describe('CloudWatch namespace, e.g. Maif/Pipelines'),
    dimensions: z.record(z.string().min(1).max(255), z.string().min(1).max(1024)).describe('extra dimensions beside Pipeline (at most 29)').optional(),
    intervalMs: z.int().min(1000).describe('publish every this many ms (default 60000), and once at the end').optional(),
    aws: awsOptionsSchema.optional(),
    format: z.enum(['put-metric-data', 'emf']).describe('put-metric-data (default): the CloudWatch API; emf: Embedded Metric Format JSON lines for the CloudWatch agent, Lambda or ECS').optional(),
    path: z.string().min(1).describe('with format emf: the file to append the lines to, or - for stdout (default)').optional(),
  }).describe('publish records in, delivered, dead letters and bytes in as Count metrics').optional(),
})
export type ObservabilityDefinition = z.infer<typeof ObservabilitySchema>

export type SecurityDefinition = z.infer<typeof SecuritySchema>

export interface PipelineDefinition {
  $schema?: string
  name?: string
  source: ComponentEntry
  transforms?: ComponentEntry[]
  sink?: ComponentEntry
  sinks?: SinksDefinition
  /** Where records that cannot be processed go: any sink; default `<first container path>.dead-letter.jsonl`. */
  deadLetter?: ComponentEntry
  batching?: BatchingDefinition
  retry?: RetryDefinition
  concurrency?: number
  security?: SecurityDefinition
  labels?: Record<string, string>
  observability?: ObservabilityDefinition
}

function unionOf(registry: ComponentRegistry, kind: ComponentKind, what: string): z.ZodType {
  const options = registry.list(kind).map((s) => entrySchema(s))
  if (options.length === 0) return z.never({ error: `no ${kind} component is registered` })
  if (options.length === 1) return options[0]!.describe(what)
  return z.discriminatedUnion('type', options as unknown as [z.ZodObject, z.ZodObject, ...z.ZodObject[]]).describe(what)
}

const cache = new WeakMap<ComponentRegistry, { version: number; schema: z.ZodType }>()

/** The pipeline schema for the components of `registry` (cached until the registry changes). */
export function pipelineSchema(registry: ComponentRegistry = builtins): z.ZodType<PipelineDefinition> {
  const hit = cache.get(registry)
  if (hit && hit.version === registry.version) return hit.schema as z.ZodType<PipelineDefinition>
  const sink = unionOf(registry, 'sink', 'an output')
  const schema = z
    .strictObject({
      $schema: z.string().describe('JSON Schema reference for editors; ignored').optional(),
      name: z
        .string()
        .regex(NAME_RE, { message: 'a pipeline name is letters, digits, ".", "_" and "-", starting with a letter or digit' })
        .describe('pipeline name, used in logs and metrics')
        .optional(),
      source: unionOf(registry, 'source', 'where records come from'),
      transforms: z.array(unionOf(registry, 'transform', 'a transform')).describe('stages, applied in order').optional(),
      sink: sink.optional(),
      sinks: z
        .strictObject({
          mode: z.enum(SINK_MODES).describe('all: every output gets every record; fallback: try outputs in order'),
          outputs: z.array(sink).min(1),
        })
        .optional(),
      deadLetter: sink.describe('where records that cannot be processed go; default: <first container path>.dead-letter.jsonl').optional(),
      batching: BatchingSchema.optional(),
      retry: RetrySchema.optional(),
      concurrency: posInt('worker threads for CPU work (JSON validation, compression)').optional(),
      security: SecuritySchema.optional(),
      labels: z.record(z.string().min(1), z.string()).describe('extra labels for metrics and logs').optional(),
      observability: ObservabilitySchema.optional(),
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
  cache.set(registry, { version: registry.version, schema })
  return schema as unknown as z.ZodType<PipelineDefinition>
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

/** The dead-letter output: the explicit one, else `<first container path>.dead-letter.jsonl`, else undefined. */
export function resolveDeadLetter(def: PipelineDefinition): ComponentEntry | undefined {
  if (def.deadLetter) return def.deadLetter
  const container = resolveSinks(def).outputs.find((s) => s.type === 'container')
  return container && typeof container.path === 'string' ? { type: 'file', path: `${container.path}.dead-letter.jsonl` } : undefined
}

/** `security.requireEncryption`, which defaults to true. */
export function encryptionRequired(def: PipelineDefinition): boolean {
  return def.security?.requireEncryption !== false
}

export interface PipelineJsonSchemaOptions {
  /** JSON Schema dialect; default draft-2020-12. yaml-language-server and VS Code also accept draft-7. */
  target?: 'draft-2020-12' | 'draft-7'
  registry?: ComponentRegistry
}

/** JSON Schema of pipeline files, for `maif schema` and editor completion. */
export function pipelineJsonSchema(opts: PipelineJsonSchemaOptions = {}): Record<string, unknown> {
  const schema = z.toJSONSchema(pipelineSchema(opts.registry), { target: opts.target ?? 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>
  return { ...schema, title: 'maif pipeline definition', description: 'A maif stream-processing pipeline: source, ordered transforms, sink(s).' }
}
