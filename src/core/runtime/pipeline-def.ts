// Loading, validating and linting declarative pipeline definitions (not running them: that is the engine).
// Front doors: .yaml/.yml/.json files, and .ts/.mts/.js/.mjs modules exporting definePipeline({...}).
// All of them go through the registry's schema (pipeline-schema.ts), then the lint rules (lint.ts).
import { access, constants, readFile } from 'node:fs/promises'
import { extname, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Document, LineCounter, Node, YAMLError } from 'yaml'
import { yaml } from './yaml-lib.js'
import { MaifError, type ErrorCode } from '../errors.js'
import { interpolateDocument, interpolateValue, rescalar, type Env, type EnvProblem } from './env-interpolate.js'
import { pipelineSchema, type PipelineDefinition } from './pipeline-schema.js'
import { builtins, type ComponentRegistry, type ComponentSpec } from './component.js'
import { lintDefinition } from './lint.js'
import { componentsFromStages, type RecordStagePlugin } from './registry.js'

export type { PipelineDefinition } from './pipeline-schema.js'

export type IssuePath = (string | number)[]
export type IssueSeverity = 'error' | 'warning' | 'info'
export type IssueCode = Extract<ErrorCode, 'MAIF_ERR_PIPELINE_DEF' | 'MAIF_ERR_ENV'>

/** A problem in a definition, located by its path in the definition (e.g. ['transforms', 2, 'level']). */
export interface PipelineIssue {
  severity: IssueSeverity
  /** MAIF_ERR_ENV for interpolation problems, MAIF_ERR_PIPELINE_DEF for everything else. */
  code: IssueCode
  /** Stable id of the check, e.g. 'schema/unknown-key', 'order/compress-before-encrypt' (PIPELINE_RULES, or a component's). */
  rule: string
  path: IssuePath
  /** True when the issue is about the key at `path` (an unknown key), not its value. */
  atKey?: boolean
  message: string
  /** How to fix it. */
  hint?: string
}

/** A PipelineIssue located in a file. line and column are 1-based; module (.ts/.js) files have no positions: 1:1. */
export interface LintIssue extends PipelineIssue {
  file: string
  line: number
  column: number
}

/** Stable rule ids a PipelineIssue / LintIssue can carry. */
export const PIPELINE_RULES = {
  'yaml/syntax': 'the file is not valid YAML or JSON',
  'yaml/duplicate-key': 'a map has the same key twice',
  'yaml/warning': 'the YAML parser warned about the file',
  'module/export': 'a pipeline module does not export a definition',
  'env/missing-var': 'a ${VAR} has no value and no default',
  'env/malformed': 'a ${...} expression is malformed',
  'schema/unknown-key': 'a key is not allowed here',
  'schema/missing-key': 'a required key is missing',
  'schema/invalid-type': 'a value has the wrong type',
  'schema/invalid-value': 'a value is not one of the allowed values, or out of range',
  'schema/unknown-type': 'a source, sink or stage type is unknown',
  'schema/path-xor-paths': 'a file source needs exactly one of path / paths',
  'schema/sink-xor-sinks': 'a pipeline needs exactly one of sink / sinks',
  'schema/codec-level': 'a compression level is out of range for its codec',
  'schema/backoff-range': 'retry.backoff.maxMs is less than initialMs',
  'order/duplicate-stage': 'a stage that may appear once appears twice',
  'order/frame-first': 'a block stage comes before frame',
  'order/record-stage-after-frame': 'a record stage comes after frame (or another block stage)',
} as const
// Components add their own rules (order/compress-before-encrypt, security/container-requires-encrypt, …):
// see each component's lint().

/** Thrown by definePipeline and loadPipelineFile. `issues` holds every error (LintIssue when from a file). */
export class PipelineDefError extends MaifError {
  readonly issues: readonly PipelineIssue[]
  constructor(code: IssueCode, message: string, issues: readonly PipelineIssue[], cause?: unknown) {
    super(code, message, cause === undefined ? {} : { cause })
    this.issues = issues
  }
}

export type PipelineFileFormat = 'yaml' | 'json' | 'ts' | 'js'

export interface LoadPipelineOptions {
  /** Variables for ${VAR} interpolation; default process.env. */
  env?: Env
  /** --set overrides: dotted path → value read as a YAML scalar ("3" → 3, "null" or "~" removes the key). */
  set?: Record<string, string>
  /** The components a definition may use; default: the built-ins. A module's own components are added to a copy. */
  registry?: ComponentRegistry
}

/** Lint takes the same options as loading (--set overrides are linted with the file), and `verbose` for info-level issues. */
export type LintOptions = LoadPipelineOptions & { verbose?: boolean }

export interface LoadedPipeline {
  definition: PipelineDefinition
  /** Components a pipeline module brings (its `components` export, definePipeline's, legacy `stages`). */
  components?: ComponentSpec[]
  source: { file: string; format: PipelineFileFormat }
  /** Warning-level issues (e.g. a plaintext container); errors are thrown instead. */
  warnings: LintIssue[]
}

// ------------------------------------------------------------------ validation

/**
 * Schema + semantic validation of a definition held in memory. Returns the parsed definition when there are
 * no errors (warnings allowed), and every issue. Never throws.
 */
export function checkPipeline(data: unknown, opts: { registry?: ComponentRegistry; verbose?: boolean } = {}): { definition?: PipelineDefinition; issues: PipelineIssue[] } {
  const registry = opts.registry ?? builtins
  const res = pipelineSchema(registry).safeParse(data, { reportInput: true })
  const issues: PipelineIssue[] = res.success ? [] : res.error.issues.flatMap((iss) => fromZod(iss as ZodIssueLike, [], data, registry))
  issues.push(...semanticIssues(data, registry, opts.verbose === true))
  const definition = res.success && !issues.some((i) => i.severity === 'error') ? res.data : undefined
  return definition ? { definition, issues } : { issues }
}

/**
 * The semantic rules (stage order, sign needs chain, encryption of containers, unknown plugin stage types).
 * Takes a schema-valid definition; the engine can reuse it on definitions it builds itself.
 */
export function validatePipeline(def: PipelineDefinition, opts: { registry?: ComponentRegistry; verbose?: boolean } = {}): PipelineIssue[] {
  return semanticIssues(def, opts.registry ?? builtins, opts.verbose === true)
}

/** Where definePipeline keeps the components a definition was declared with (not an own enumerable key). */
const COMPONENTS = Symbol.for('maif.components')

/** The components a definition was declared with by definePipeline(def, { components }). */
export function componentsOf(def: PipelineDefinition): ComponentSpec[] {
  return ((def as unknown as Record<symbol, unknown>)[COMPONENTS] as ComponentSpec[] | undefined) ?? []
}

/**
 * Identity function for pipeline modules (`export default definePipeline({...})`): gives editor types, and
 * validates at import time, throwing PipelineDefError on any error. Returns `def` itself.
 */
export function definePipeline(def: PipelineDefinition, opts: { components?: readonly ComponentSpec[] } = {}): PipelineDefinition {
  const components = [...(opts.components ?? [])]
  const { issues } = checkPipeline(def, { registry: builtins.with(components) })
  const errors = issues.filter((i) => i.severity === 'error')
  if (errors.length > 0) throw new PipelineDefError(errors[0]!.code, errors.map((i) => formatIssue(i)).join('\n'), errors)
  if (components.length > 0) Object.defineProperty(def, COMPONENTS, { value: components, enumerable: false, configurable: true })
  return def
}

/** Info-level issues (what a sink adds for itself) only when `verbose`: they are not problems. */
function semanticIssues(raw: unknown, registry: ComponentRegistry, verbose: boolean): PipelineIssue[] {
  return lintDefinition(raw, registry).filter((i) => verbose || i.severity !== 'info').map((i) => ({ ...i, code: 'MAIF_ERR_PIPELINE_DEF' }))
}

// ------------------------------------------------------------------ zod issues → PipelineIssue

interface ZodIssueLike {
  code: string
  path: PropertyKey[]
  message: string
  input?: unknown
  keys?: string[]
  expected?: string
  values?: unknown[]
  options?: unknown[]
  note?: string
  discriminator?: string
  errors?: ZodIssueLike[][]
  origin?: string
  minimum?: number | bigint
  maximum?: number | bigint
  inclusive?: boolean
  params?: { rule?: string; hint?: string }
}

function fromZod(iss: ZodIssueLike, base: IssuePath, data: unknown, registry: ComponentRegistry): PipelineIssue[] {
  const path: IssuePath = [...base, ...iss.path.map((p) => (typeof p === 'number' ? p : String(p)))]
  const last = path[path.length - 1]
  const mk = (rule: string, message: string, hint?: string, extra: Partial<PipelineIssue> = {}): PipelineIssue => ({
    severity: 'error', code: 'MAIF_ERR_PIPELINE_DEF', rule, path, message, ...(hint ? { hint } : {}), ...extra,
  })
  const where = describePath(path)
  switch (iss.code) {
    case 'unrecognized_keys': {
      const allowed = allowedKeysAt(path, data, registry)
      const owner = describeOwner(path, data)
      return (iss.keys ?? []).map((key) => {
        const near = allowed ? closest(key, allowed) : undefined
        const hint = `${near ? `did you mean '${near}'?` : `remove '${key}'.`}${allowed ? ` Allowed keys: ${allowed.join(', ')}` : ''}`
        return { ...mk('schema/unknown-key', `unknown key '${key}' in ${owner}`, hint), path: [...path, key], atKey: true }
      })
    }
    case 'invalid_union': {
      if (iss.note === 'No matching discriminator') {
        const value = valueAt(data, path)
        const options = (iss.options ?? []).map(String)
        const owner = describeOwner(path.slice(0, -1), data)
        if (value === undefined) return [mk('schema/missing-key', `${owner} needs a '${String(last)}'`, `one of: ${options.join(', ')}`)]
        const near = typeof value === 'string' ? closest(value, options) : undefined
        return [mk('schema/unknown-type', `unknown ${String(last)} ${JSON.stringify(value)} in ${owner}`, `${near ? `did you mean '${near}'? ` : ''}Expected one of: ${options.join(', ')}`)]
      }
      return [mk('schema/invalid-value', iss.message === 'Invalid input' ? `${where || 'the value'} is not valid here` : iss.message)]
    }
    case 'invalid_type': {
      const parent = valueAt(data, path.slice(0, -1))
      if (path.length > 0 && isObj(parent) && !(String(last) in parent)) {
        return [mk('schema/missing-key', `missing required key '${String(last)}'${path.length > 1 ? ` in ${describePath(path.slice(0, -1))}` : ''}`)]
      }
      const def = iss.expected === 'number' ? schemaDefAt(path, data, registry) : undefined
      const expected = def?.format === 'safeint' ? 'int' : iss.expected
      return [mk('schema/invalid-type', `${where || 'the definition'} must be ${expectedName(expected)}, got ${describeValue(valueAt(data, path))}`)]
    }
    case 'invalid_value': {
      const values = (iss.values ?? []).map((v) => String(v))
      const value = valueAt(data, path)
      const near = typeof value === 'string' ? closest(value, values) : undefined
      return [mk('schema/invalid-value', `${where} must be ${values.length === 1 ? `'${values[0]}'` : `one of ${values.map((v) => `'${v}'`).join(', ')}`}, got ${describeValue(value)}`, near ? `did you mean '${near}'?` : undefined)]
    }
    case 'too_small':
    case 'too_big': {
      const small = iss.code === 'too_small'
      const n = Number(small ? iss.minimum : iss.maximum)
      if (iss.origin === 'array') return [mk('schema/invalid-value', `${where} needs ${small ? 'at least' : 'at most'} ${n} item${n === 1 ? '' : 's'}`)]
      if (iss.origin === 'string') return [mk('schema/invalid-value', small && n === 1 ? `${where} must not be empty` : `${where} must be ${small ? 'at least' : 'at most'} ${n} characters long`)]
      const op = small ? (iss.inclusive === false ? 'greater than' : 'at least') : (iss.inclusive === false ? 'less than' : 'at most')
      return [mk('schema/invalid-value', `${where} must be ${op} ${n}, got ${describeValue(valueAt(data, path))}`)]
    }
    case 'custom': {
      const rule = iss.params?.rule ?? 'schema/invalid-value'
      return [mk(rule, iss.message, iss.params?.hint)]
    }
    default:
      return [mk('schema/invalid-value', where ? `${where}: ${iss.message}` : iss.message)]
  }
}

interface ZodDefLike {
  type: string
  shape?: Record<string, { _zod: { def: ZodDefLike } }>
  innerType?: { _zod: { def: ZodDefLike } }
  element?: { _zod: { def: ZodDefLike } }
  valueType?: { _zod: { def: ZodDefLike } }
  options?: { _zod: { def: ZodDefLike; propValues?: Record<string, Set<unknown>> } }[]
  discriminator?: string
  format?: string
}

/** The schema (its zod def) that validates the value at `path`, found by walking the schema along the data. */
function schemaDefAt(path: IssuePath, data: unknown, registry: ComponentRegistry): ZodDefLike | undefined {
  let def: ZodDefLike | undefined = (pipelineSchema(registry) as unknown as { _zod: { def: ZodDefLike } })._zod.def
  let value = data
  const unwrap = (): void => {
    for (let guard = 0; def && guard < 16; guard++) {
      if ((def.type === 'optional' || def.type === 'nullable' || def.type === 'default') && def.innerType) def = def.innerType._zod.def
      else if (def.type === 'union' && def.options) {
        const v = value
        const opts = def.options
        const pick = def.discriminator !== undefined
          ? opts.find((o) => isObj(v) && o._zod.propValues?.[def!.discriminator!]?.has(v[def!.discriminator!]))
          : opts[0]
        def = pick?._zod.def
      } else return
    }
  }
  for (const seg of path) {
    unwrap()
    if (!def) return undefined
    if (def.type === 'object' && def.shape) def = def.shape[String(seg)]?._zod.def
    else if (def.type === 'array' && def.element) def = def.element._zod.def
    else if (def.type === 'record' && def.valueType) def = def.valueType._zod.def
    else return undefined
    value = isObj(value) || Array.isArray(value) ? (value as Record<string, unknown>)[String(seg)] : undefined
  }
  unwrap()
  return def
}

/** The keys a strict object at `path` allows. */
function allowedKeysAt(path: IssuePath, data: unknown, registry: ComponentRegistry): string[] | undefined {
  const def = schemaDefAt(path, data, registry)
  return def?.type === 'object' && def.shape ? Object.keys(def.shape).filter((k) => k !== '$schema') : undefined
}

// ------------------------------------------------------------------ files

const YAML_EXT = new Set(['.yaml', '.yml'])
const MODULE_EXT: Record<string, PipelineFileFormat> = { '.ts': 'ts', '.mts': 'ts', '.js': 'js', '.mjs': 'js' }

export function pipelineFileFormat(file: string): PipelineFileFormat {
  const ext = extname(file).toLowerCase()
  if (YAML_EXT.has(ext)) return 'yaml'
  if (ext === '.json') return 'json'
  const m = MODULE_EXT[ext]
  if (m) return m
  throw new MaifError('MAIF_ERR_USAGE', `${file}: a pipeline file must end in .yaml, .yml, .json, .ts, .mts, .js or .mjs`)
}

/**
 * Loads, interpolates, overrides (--set) and validates a pipeline file. Throws PipelineDefError
 * (MAIF_ERR_PIPELINE_DEF, or MAIF_ERR_ENV when the first error is an interpolation problem) listing every error
 * as "file:line:col: error: message [rule]", MAIF_ERR_IO when the file cannot be read, MAIF_ERR_USAGE for a bad
 * --set path.
 */
export async function loadPipelineFile(path: string, opts: LoadPipelineOptions = {}): Promise<LoadedPipeline> {
  const format = pipelineFileFormat(path)
  const r = format === 'yaml' || format === 'json' ? analyzeText(await readText(path), path, format, opts) : await analyzeModule(path, format, opts)
  const errors = r.issues.filter((i) => i.severity === 'error')
  if (errors.length > 0 || !r.definition) {
    throw new PipelineDefError(errors[0]?.code ?? 'MAIF_ERR_PIPELINE_DEF', errors.map((i) => formatIssue(i)).join('\n'), errors)
  }
  const loaded: LoadedPipeline = { definition: r.definition, source: { file: resolve(path), format }, warnings: r.issues.filter((i) => i.severity === 'warning') }
  if (r.components?.length) loaded.components = r.components
  return loaded
}

/**
 * Lints a pipeline file: YAML/JSON syntax, duplicate keys, interpolation, schema and semantic rules, each issue
 * with its 1-based line and column. Resolves to [] for a clean file. Throws only MAIF_ERR_IO / MAIF_ERR_USAGE.
 */
export async function lintPipelineFile(path: string, opts: LintOptions = {}): Promise<LintIssue[]> {
  const format = pipelineFileFormat(path)
  const issues = format === 'yaml' || format === 'json' ? analyzeText(await readText(path), path, format, opts).issues : (await analyzeModule(path, format, opts)).issues
  return opts.verbose ? issues : issues.filter((i) => i.severity !== 'info')
}

/** Lints YAML or JSON text; `file` is only used in the issues. */
export function lintPipelineSource(text: string, file: string, opts: LintOptions & { format?: 'yaml' | 'json' } = {}): LintIssue[] {
  const issues = analyzeText(text, file, opts.format ?? (extname(file).toLowerCase() === '.json' ? 'json' : 'yaml'), opts).issues
  return opts.verbose ? issues : issues.filter((i) => i.severity !== 'info')
}

/** "file:line:col: severity: message [rule]" plus an indented hint line; issues without a file use their path. */
export function formatIssue(issue: PipelineIssue | LintIssue): string {
  const loc = 'file' in issue ? `${issue.file}:${issue.line}:${issue.column}` : describePath(issue.path) || '(definition)'
  return `${loc}: ${issue.severity}: ${issue.message} [${issue.rule}]${issue.hint ? `\n  hint: ${issue.hint}` : ''}`
}

/** Parses CLI `--set a.b.c=value` arguments into the `set` option. */
export function parseSetArgs(args: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const a of args) {
    const eq = a.indexOf('=')
    if (eq <= 0) throw new MaifError('MAIF_ERR_USAGE', `--set expects path=value (e.g. --set sink.path=out/x.maif), got '${a}'`)
    out[a.slice(0, eq)] = a.slice(eq + 1)
  }
  return out
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    throw new MaifError('MAIF_ERR_IO', `cannot read pipeline file ${path}: ${(err as Error).message}`, { cause: err })
  }
}

interface Analysis {
  issues: LintIssue[]
  definition?: PipelineDefinition
  components?: ComponentSpec[]
}

function analyzeText(text: string, file: string, format: 'yaml' | 'json', opts: LoadPipelineOptions): Analysis {
  // YAML does not allow tabs as indentation; JSON does. A leading tab is never inside a JSON string, and
  // replacing it with one space keeps every offset.
  const src = format === 'json' ? text.replace(/^[\t ]+/gm, (ws) => ws.replace(/\t/g, ' ')) : text
  const lc = new (yaml().LineCounter)()
  const doc = yaml().parseDocument(src, { lineCounter: lc, uniqueKeys: true, prettyErrors: false, keepSourceTokens: false })
  const issues: LintIssue[] = []
  const pos = (offset: number): { line: number; column: number } => {
    const p = lc.linePos(offset)
    return { line: p.line, column: p.col }
  }
  const fromYaml = (e: YAMLError, severity: IssueSeverity): LintIssue => ({
    file, ...pos(e.pos[0]), severity, code: 'MAIF_ERR_PIPELINE_DEF',
    rule: severity === 'warning' ? 'yaml/warning' : e.code === 'DUPLICATE_KEY' ? 'yaml/duplicate-key' : 'yaml/syntax',
    path: [], message: e.code === 'DUPLICATE_KEY' ? `duplicate key${describeKeyAt(src, e.pos[0])}: map keys must be unique` : e.message,
    ...(e.code === 'DUPLICATE_KEY' ? { hint: 'remove or rename one of them (YAML would silently keep only one)' } : {}),
  })
  issues.push(...doc.errors.map((e) => fromYaml(e, 'error')), ...doc.warnings.map((e) => fromYaml(e, 'warning')))
  if (format === 'json' && doc.errors.length === 0) {
    try {
      JSON.parse(text)
    } catch (err) {
      const m = /position (\d+)/.exec((err as Error).message)
      issues.push({ file, ...pos(m ? Number(m[1]) : 0), severity: 'error', code: 'MAIF_ERR_PIPELINE_DEF', rule: 'yaml/syntax', path: [], message: `invalid JSON: ${(err as Error).message}` })
    }
  }
  if (doc.errors.some((e) => e.code !== 'DUPLICATE_KEY')) return { issues: sortIssues(issues) }

  const envProblems = interpolateDocument(doc, opts.env ?? process.env, src)
  for (const p of envProblems) {
    issues.push({ file, ...(p.offset === undefined ? locate(doc, p.path, false, lc) : pos(p.offset)), ...envIssue(p) })
  }
  const setPaths = applySetToDocument(doc, opts.set ?? {})
  let data: unknown
  try {
    data = doc.toJS({ maxAliasCount: 100 })
  } catch (err) {
    issues.push({ file, line: 1, column: 1, severity: 'error', code: 'MAIF_ERR_PIPELINE_DEF', rule: 'yaml/syntax', path: [], message: (err as Error).message })
    return { issues: sortIssues(issues) }
  }
  const envPaths = new Set(envProblems.map((p) => JSON.stringify(p.path)))
  const checked = checkPipeline(data, { ...(opts.registry ? { registry: opts.registry } : {}), verbose: (opts as LintOptions).verbose === true })
  for (const i of checked.issues) {
    if (envPaths.has(JSON.stringify(i.path))) continue // the ${...} left in place would only repeat the env error
    const viaSet = setPaths.find((s) => s.path.every((seg, k) => String(i.path[k]) === String(seg)))
    issues.push({ file, ...locate(doc, i.path, i.atKey === true, lc), ...i, ...(viaSet ? { message: `${i.message} (value from --set ${viaSet.key})` } : {}) })
  }
  const sorted = sortIssues(issues)
  return checked.definition && !sorted.some((i) => i.severity === 'error') ? { issues: sorted, definition: checked.definition } : { issues: sorted }
}

async function analyzeModule(path: string, format: PipelineFileFormat, opts: LoadPipelineOptions): Promise<Analysis> {
  const file = path
  const at = (i: PipelineIssue): LintIssue => ({ file, line: 1, column: 1, ...i })
  try {
    await access(path, constants.R_OK)
  } catch (err) {
    throw new MaifError('MAIF_ERR_IO', `cannot read pipeline file ${path}: ${(err as Error).message}`, { cause: err })
  }
  let mod: Record<string, unknown>
  try {
    mod = (await importModule(resolve(path), format)) as Record<string, unknown>
  } catch (err) {
    const e = err as { code?: unknown; name?: unknown; issues?: unknown; message?: unknown }
    if (e.name === 'MaifError' && Array.isArray(e.issues)) {
      // definePipeline threw while the module was being evaluated
      return { issues: (e.issues as PipelineIssue[]).map(at) }
    }
    if (e.code === 'ERR_UNKNOWN_FILE_EXTENSION' && format === 'ts') {
      throw new MaifError('MAIF_ERR_PIPELINE_DEF', `${file}: Node ${process.version} cannot import TypeScript directly; use Node >= 22.18 (type stripping), preload a loader (node --import tsx ...), or write the pipeline as .mjs or .yaml`, { cause: err })
    }
    throw new MaifError('MAIF_ERR_PIPELINE_DEF', `${file}: the pipeline module failed to load: ${String(e.message)}`, { cause: err })
  }
  const raw = mod.default !== undefined ? mod.default : mod.pipeline
  if (!isObj(raw)) {
    return {
      issues: [at({
        severity: 'error', code: 'MAIF_ERR_PIPELINE_DEF', rule: 'module/export', path: [],
        message: `the module exports no pipeline definition (${raw === undefined ? 'no default export and no export named pipeline' : `its export is ${describeValue(raw)}`})`,
        hint: `export default definePipeline({ source: ..., transforms: [...], sink: ... })`,
      })],
    }
  }
  const interp = interpolateValue(raw, opts.env ?? process.env)
  const value = interp.value as Record<string, unknown>
  for (const [key, v] of Object.entries(opts.set ?? {})) setInObject(value, splitSetPath(key), rescalar(v), key)
  const issues = interp.problems.map((p) => at(envIssue(p)))
  const envPaths = new Set(interp.problems.map((p) => JSON.stringify(p.path)))
  // A module brings components three ways: definePipeline(def, { components }), `export const components`,
  // and (older modules) `export const stages` of record-stage plugins.
  const components = [
    ...componentsOf(raw as unknown as PipelineDefinition),
    ...(Array.isArray(mod.components) ? (mod.components as ComponentSpec[]) : []),
    ...(isObj(mod.stages) ? componentsFromStages(mod.stages as Record<string, RecordStagePlugin>) : []),
  ]
  const unique = [...new Set(components)]
  const registry = (opts.registry ?? builtins).with(unique)
  const checked = checkPipeline(value, { registry, verbose: (opts as LintOptions).verbose === true })
  issues.push(...checked.issues.filter((i) => !envPaths.has(JSON.stringify(i.path))).map(at))
  const base = checked.definition && !issues.some((i) => i.severity === 'error') ? { issues, definition: checked.definition } : { issues }
  return unique.length ? { ...base, components: unique } : base
}

function envIssue(p: EnvProblem): PipelineIssue {
  return { severity: 'error', code: 'MAIF_ERR_ENV', rule: p.rule, path: p.path, message: p.message, hint: p.hint }
}

function sortIssues(issues: LintIssue[]): LintIssue[] {
  return issues.sort((a, b) => a.line - b.line || a.column - b.column)
}

// ------------------------------------------------------------------ positions

/** The 1-based line/column of the node at `path` (or of its key), else of the deepest ancestor that exists. */
function locate(doc: Document, path: IssuePath, atKey: boolean, lc: LineCounter): { line: number; column: number } {
  let node: unknown = doc.contents
  let best: number = rangeStart(node) ?? 0
  for (let k = 0; k < path.length; k++) {
    const seg = path[k]!
    const isLast = k === path.length - 1
    if (yaml().isMap(node)) {
      const pair = node.items.find((p) => (yaml().isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg))
      if (!pair) break
      if (isLast && atKey) {
        best = rangeStart(pair.key) ?? best
        break
      }
      node = pair.value
      // a key with no value (`fsync:`) has a null scalar without a range: point at the key
      best = rangeStart(node) ?? rangeStart(pair.key) ?? best
    } else if (yaml().isSeq(node) && typeof seg === 'number') {
      node = node.items[seg]
      if (node === undefined) break
      best = rangeStart(node) ?? best
    } else break
  }
  const p = lc.linePos(best)
  return { line: p.line, column: p.col }
}

function rangeStart(node: unknown): number | undefined {
  const r = (node as Node | null | undefined)?.range
  return r ? r[0] : undefined
}

/** ` 'codec'` for the key written at `offset` (plain or quoted), or '' when it cannot be read. */
function describeKeyAt(src: string, offset: number): string {
  const m = /^\s*("(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[^:\n]+?)\s*:/.exec(src.slice(offset, offset + 200))
  if (!m) return ''
  const key = m[1]!.replace(/^["']|["']$/g, '')
  return ` '${key}'`
}

// ------------------------------------------------------------------ --set

function splitSetPath(key: string): string[] {
  const segs = key.split('.')
  if (segs.some((s) => s === '')) throw new MaifError('MAIF_ERR_USAGE', `--set path '${key}' has an empty segment`)
  return segs
}

function applySetToDocument(doc: Document, set: Record<string, string>): { key: string; path: IssuePath }[] {
  const applied: { key: string; path: IssuePath }[] = []
  for (const [key, raw] of Object.entries(set)) {
    const segs = splitSetPath(key)
    const path: IssuePath = []
    let node: unknown = doc.contents
    for (const seg of segs) {
      if (yaml().isSeq(node)) {
        const idx = /^\d+$/.test(seg) ? Number(seg) : NaN
        if (!(idx <= node.items.length)) throw new MaifError('MAIF_ERR_USAGE', `--set ${key}: '${seg}' is not an index of the list at '${path.join('.') || '(root)'}' (it has ${node.items.length} items)`)
        path.push(idx)
        node = node.items[idx]
      } else if (yaml().isMap(node) || node === undefined || node === null) {
        path.push(seg)
        node = yaml().isMap(node) ? node.get(seg, true) : undefined
      } else {
        throw new MaifError('MAIF_ERR_USAGE', `--set ${key}: '${path.join('.') || '(root)'}' is not a map or list`)
      }
    }
    const value = rescalar(raw)
    if (value === null) doc.deleteIn(path)
    else doc.setIn(path, doc.createNode(value))
    applied.push({ key, path })
  }
  return applied
}

function setInObject(root: Record<string, unknown>, segs: string[], value: unknown, key: string): void {
  let cur: unknown = root
  for (let k = 0; k < segs.length; k++) {
    const seg = segs[k]!
    const isLast = k === segs.length - 1
    if (Array.isArray(cur)) {
      const idx = /^\d+$/.test(seg) ? Number(seg) : NaN
      if (!(idx <= cur.length)) throw new MaifError('MAIF_ERR_USAGE', `--set ${key}: '${seg}' is not an index of the list at '${segs.slice(0, k).join('.')}' (it has ${cur.length} items)`)
      if (isLast) {
        if (value === null) cur.splice(idx, 1)
        else cur[idx] = value
        return
      }
      if (cur[idx] === undefined) cur[idx] = {}
      cur = cur[idx]
    } else if (isObj(cur)) {
      if (isLast) {
        if (value === null) delete cur[seg]
        else cur[seg] = value
        return
      }
      if (cur[seg] === undefined) cur[seg] = {}
      cur = cur[seg]
    } else {
      throw new MaifError('MAIF_ERR_USAGE', `--set ${key}: '${segs.slice(0, k).join('.') || '(root)'}' is not a map or list`)
    }
  }
}

// ------------------------------------------------------------------ small helpers

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function valueAt(data: unknown, path: IssuePath): unknown {
  let v = data
  for (const seg of path) {
    if (isObj(v) || Array.isArray(v)) v = (v as Record<string, unknown>)[String(seg)]
    else return undefined
  }
  return v
}

/** "the frame stage (transforms[0])", "sink", "the top level" */
function describeOwner(path: IssuePath, data: unknown): string {
  if (path.length === 0) return 'the top level'
  const v = valueAt(data, path)
  const type = isObj(v) && typeof v.type === 'string' ? v.type : undefined
  if (path[0] === 'transforms' && path.length === 2 && type) return `the ${type} stage (${describePath(path)})`
  return describePath(path)
}

/** transforms[2].level */
export function describePath(path: IssuePath): string {
  let s = ''
  for (const seg of path) s += typeof seg === 'number' ? `[${seg}]` : s ? `.${seg}` : seg
  return s
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing'
  if (v === null) return 'null (an empty value)'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a map'
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`
  return `${typeof v} ${String(v)}`
}

function expectedName(e: string | undefined): string {
  switch (e) {
    case 'int': return 'an integer'
    case 'number': return 'a number'
    case 'string': return 'a string'
    case 'boolean': return 'true or false'
    case 'object':
    case 'record': return 'a map'
    case 'array': return 'a list'
    default: return e ? `of type ${e}` : 'valid'
  }
}

/** The candidate within edit distance 2 (or a third of the word), if any. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined
  let bestD = Infinity
  const w = word.toLowerCase()
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase())
    if (d < bestD) {
      bestD = d
      best = c
    }
  }
  return best !== undefined && best !== word && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!
    prev[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1))
      diag = tmp
    }
  }
  return prev[b.length]!
}

/** Node 20 cannot import TypeScript: jiti transpiles .ts pipeline modules on the fly when it must. */
async function importModule(path: string, format: PipelineFileFormat): Promise<unknown> {
  try {
    return await import(pathToFileURL(path).href)
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ERR_UNKNOWN_FILE_EXTENSION' || format !== 'ts') throw err
    const { createJiti } = await import('jiti')
    return createJiti(import.meta.url, { interopDefault: false }).import(path)
  }
}
