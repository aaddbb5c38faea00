// Components: sources, transforms and sinks, each declared by one spec (kind, type, strict options schema,
// lint rules, environment check, build) and registered by one line. The pipeline schema, `maif schema` and
// `maif lint` are derived from what is registered; nothing else in the runtime knows a component by name.
import { z } from 'zod'
import { MaifError } from '../errors.js'
import type { BuildContext, SinkBuildContext, SinkInstance, SourceInstance, TransformInstance } from './types.js'

export type ComponentKind = 'source' | 'transform' | 'sink'

/** The options of a component: a zod object shape (without `type` and `label`, which every entry has). */
export type OptionsShape = z.ZodRawShape

/** One entry of the pipeline as lint rules see it. */
export interface LintEntry {
  kind: ComponentKind
  type: string
  /** For transforms: where it runs (records before `frame`, blocks after it). */
  stage?: 'record' | 'block'
  /** Path of the entry in the definition, e.g. ['transforms', 2] or ['sinks', 'outputs', 0]. */
  path: (string | number)[]
  options: Record<string, unknown>
}

export type LintSeverity = 'error' | 'warning' | 'info'

/** What a component's lint rule sees and how it reports. */
export interface LintContext {
  /** The entry being checked. */
  self: LintEntry
  source: LintEntry | undefined
  transforms: readonly LintEntry[]
  sinks: readonly LintEntry[]
  /** The whole definition, for rules about top-level settings (security, …). */
  definition: Readonly<Record<string, unknown>>
  report(issue: { rule: string; message: string; hint?: string; severity?: LintSeverity; path?: (string | number)[] }): void
}

export interface CheckContext {
  cwd: string
  label: string
  keyringFlag: string | undefined
  defaultKeyring: string | undefined
  /** The whole definition, for checks that depend on other entries (the keyrings of block stages). */
  definition: Readonly<Record<string, unknown>>
  /** Reports a problem under its own name (e.g. 'keyring'), beside what `check` throws. */
  report(what: string, message: string): void
}

interface SpecBase<O extends OptionsShape> {
  type: string
  /** One line for `maif schema` and errors. */
  description: string
  options: O
  /** Accept keys the shape does not name (for components that validate their own options in build()). */
  looseOptions?: boolean
  /** Cross-field checks of the options alone (zod superRefine). */
  refine?: (value: z.infer<z.ZodObject<O>>, ctx: z.core.$RefinementCtx) => void
  /** Rules about this entry in the whole pipeline, kept next to the component. */
  lint?: (ctx: LintContext) => void
  /** The files it reads and writes, so that the engine can refuse two that are the same file (and outputs that are inputs). */
  paths?: (options: z.infer<z.ZodObject<O>>, cwd: string) => Promise<{ reads?: string[]; writes?: string[] }> | { reads?: string[]; writes?: string[] }
  /** What `maif validate` checks in the environment (files exist, keyring readable, …); throws to report. */
  check?: (options: z.infer<z.ZodObject<O>>, ctx: CheckContext) => Promise<void>
}

export interface SourceSpec<O extends OptionsShape = OptionsShape> extends SpecBase<O> {
  kind: 'source'
  build(options: z.infer<z.ZodObject<O>>, ctx: BuildContext): SourceInstance | Promise<SourceInstance>
}

export interface TransformSpec<O extends OptionsShape = OptionsShape> extends SpecBase<O> {
  kind: 'transform'
  /** 'record': runs on record batches before `frame`. 'block': configures the container write path. */
  stage: 'record' | 'block'
  /** At most one entry of this type in a pipeline. */
  unique?: boolean
  build(options: z.infer<z.ZodObject<O>>, ctx: BuildContext): TransformInstance | unknown | Promise<TransformInstance | unknown>
}

export interface SinkSpec<O extends OptionsShape = OptionsShape> extends SpecBase<O> {
  kind: 'sink'
  /**
   * 'write': a resolved write() is durable, the engine reports it. 'self': the sink reports what it has
   * made durable through ctx.acks (group commit, checkpoints).
   */
  acknowledgements: 'write' | 'self'
  /** It frames records into blocks with the pipeline's block stages (adding those it needs; lint --verbose says). */
  framesBlocks?: boolean
  /** What it makes durable, as a stable key (a container's absolute path), for sources that key progress to it. */
  key?: (options: z.infer<z.ZodObject<O>>, cwd: string) => string
  build(options: z.infer<z.ZodObject<O>>, ctx: SinkBuildContext): SinkInstance | Promise<SinkInstance>
}

export type ComponentSpec = SourceSpec<OptionsShape> | TransformSpec<OptionsShape> | SinkSpec<OptionsShape>

const TYPE_RE = /^[A-Za-z][A-Za-z0-9]*(?:[-_.:][A-Za-z0-9]+)*$/

function checkSpec(spec: ComponentSpec): void {
  const bad = (msg: string): never => { throw new MaifError('MAIF_ERR_INVALID_OPTION', `component '${String(spec?.type)}': ${msg}`) }
  if (!spec || typeof spec !== 'object') bad('a component spec must be an object')
  if (!['source', 'transform', 'sink'].includes(spec.kind)) bad(`kind must be source, transform or sink, got '${String(spec.kind)}'`)
  if (typeof spec.type !== 'string' || !TYPE_RE.test(spec.type)) bad('type must be a name such as "redact-emails": letters, digits and -, _, . or : between them')
  if (!spec.options || typeof spec.options !== 'object') bad('options must be a zod shape, e.g. { field: z.string() }')
  if ('type' in spec.options || 'label' in spec.options) bad('options must not declare `type` or `label`: every entry has them')
  if (typeof spec.build !== 'function') bad('build(options, ctx) must be a function')
  if (spec.kind === 'transform' && spec.stage !== 'record' && spec.stage !== 'block') bad(`stage must be 'record' or 'block'`)
  if (spec.kind === 'sink' && spec.acknowledgements !== 'write' && spec.acknowledgements !== 'self') bad(`acknowledgements must be 'write' or 'self'`)
}

/** Declares a source. Register it with `registry.register(spec)`, or export it from a pipeline module. */
// The define* helpers type a spec's functions by its own options, and return it erased to the common
// spec type the registry holds (options are validated by the schema before build() ever sees them).
export function defineSource<O extends OptionsShape>(spec: Omit<SourceSpec<O>, 'kind'>): SourceSpec {
  const s = { ...spec, kind: 'source' } as unknown as SourceSpec
  checkSpec(s)
  return s
}

/** Declares a transform. A record transform maps each batch to zero or more batches. */
export function defineTransform<O extends OptionsShape>(spec: Omit<TransformSpec<O>, 'kind' | 'stage'> & { stage?: 'record' | 'block' }): TransformSpec {
  const s = { stage: 'record', ...spec, kind: 'transform' } as unknown as TransformSpec
  checkSpec(s)
  return s
}

/** Declares a sink. */
export function defineSink<O extends OptionsShape>(spec: Omit<SinkSpec<O>, 'kind' | 'acknowledgements'> & { acknowledgements?: 'write' | 'self' }): SinkSpec {
  const s = { acknowledgements: 'write', ...spec, kind: 'sink' } as unknown as SinkSpec
  checkSpec(s)
  return s
}

const label = z.string().min(1).describe('name of this component in logs and metrics').optional()

/** The entry schema of a spec: `{ type, label?, ...options }`, strict. */
export function entrySchema(spec: ComponentSpec): z.ZodObject {
  const shape = { type: z.literal(spec.type), label, ...spec.options }
  const obj = (spec.looseOptions ? z.looseObject(shape) : z.strictObject(shape)).describe(spec.description)
  if (!spec.refine) return obj
  const refine = spec.refine as (v: unknown, ctx: z.core.$RefinementCtx) => void
  return obj.superRefine((v, ctx) => refine(v, ctx))
}

/** Components by kind and type. A copy made with `with()` never leaks into the original. */
export class ComponentRegistry {
  readonly #specs = { source: new Map<string, ComponentSpec>(), transform: new Map<string, ComponentSpec>(), sink: new Map<string, ComponentSpec>() }
  #version = 0

  register(spec: ComponentSpec): this {
    checkSpec(spec)
    const map = this.#specs[spec.kind]
    if (map.has(spec.type)) throw new MaifError('MAIF_ERR_INVALID_OPTION', `a ${spec.kind} named '${spec.type}' is already registered`)
    map.set(spec.type, spec)
    this.#version++
    return this
  }

  get<K extends ComponentKind>(kind: K, type: string): Extract<ComponentSpec, { kind: K }> | undefined {
    return this.#specs[kind].get(type) as Extract<ComponentSpec, { kind: K }> | undefined
  }

  list<K extends ComponentKind>(kind: K): Array<Extract<ComponentSpec, { kind: K }>> {
    return [...this.#specs[kind].values()] as Array<Extract<ComponentSpec, { kind: K }>>
  }

  types(kind: ComponentKind): string[] {
    return [...this.#specs[kind].keys()]
  }

  /** Changes whenever a component is registered (schemas derived from the registry are cached by it). */
  get version(): number {
    return this.#version
  }

  /** A copy with more components (a pipeline module's own). */
  with(specs: Iterable<ComponentSpec> | undefined): ComponentRegistry {
    const r = new ComponentRegistry()
    for (const kind of ['source', 'transform', 'sink'] as const) for (const s of this.#specs[kind].values()) r.register(s)
    for (const s of specs ?? []) r.register(s)
    return r
  }
}

/**
 * The registry the built-in components register into (see src/builtins.ts). Pipeline modules add their own
 * components to a copy of it, never to it.
 */
export const builtins = new ComponentRegistry()
