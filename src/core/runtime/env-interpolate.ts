// Environment interpolation for pipeline definitions, in the style of Redpanda Connect / Benthos:
//   ${VAR}          the value of VAR; an error if VAR is not set
//   ${VAR:default}  the value of VAR, or `default` if VAR is unset or empty (the default may contain ':')
//   $${             a literal `${`
// Only string values are interpolated, never map keys. In YAML, a plain (unquoted) scalar that is exactly one
// ${...} expression is re-read as a YAML scalar after interpolation, so `level: ${ZSTD_LEVEL:3}` gives the
// number 3; quote the scalar ("${VAR}") to keep a string.
import type { Document, Node } from 'yaml'
import { yaml } from './yaml-lib.js'
import { MaifError } from '../errors.js'

export type Env = Readonly<Record<string, string | undefined>>
export type ValuePath = (string | number)[]

export interface EnvProblem {
  rule: 'env/missing-var' | 'env/malformed'
  /** The variable name, for env/missing-var. */
  name?: string
  message: string
  hint: string
  /** Where the string value is in the definition. */
  path: ValuePath
  /** Offset in the source text of the `${`, when interpolating a parsed YAML/JSON document. */
  offset?: number
}

export interface InterpolatedString {
  value: string
  /** Problems, each with `offset` relative to the start of the input string and an empty path. */
  problems: EnvProblem[]
  /** Number of ${...} expressions replaced. */
  refs: number
  /** True when the whole input is exactly one ${...} expression. */
  whole: boolean
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Interpolates one string. Never throws: problems are returned, and their expressions are left as written. */
export function interpolateString(input: string, env: Env): InterpolatedString {
  const problems: EnvProblem[] = []
  let out = ''
  let refs = 0
  let whole = false
  let i = 0
  while (i < input.length) {
    const at = input.indexOf('$', i)
    if (at < 0) {
      out += input.slice(i)
      break
    }
    out += input.slice(i, at)
    if (input.startsWith('$${', at)) {
      out += '${'
      i = at + 3
      continue
    }
    if (!input.startsWith('${', at)) {
      out += '$'
      i = at + 1
      continue
    }
    const close = input.indexOf('}', at + 2)
    if (close < 0) {
      problems.push({
        rule: 'env/malformed',
        message: `unterminated interpolation "${input.slice(at)}"`,
        hint: 'write ${NAME} or ${NAME:default}; write $${ for a literal ${',
        path: [],
        offset: at,
      })
      out += input.slice(at)
      break
    }
    const inner = input.slice(at + 2, close)
    const colon = inner.indexOf(':')
    const name = colon < 0 ? inner : inner.slice(0, colon)
    const def = colon < 0 ? undefined : inner.slice(colon + 1)
    const expr = input.slice(at, close + 1)
    if (!NAME_RE.test(name)) {
      problems.push({
        rule: 'env/malformed',
        message: `"${expr}" does not name an environment variable`,
        hint: 'variable names are letters, digits and _, not starting with a digit; write $${ for a literal ${',
        path: [],
        offset: at,
      })
      out += expr
    } else {
      const v = env[name]
      if (v !== undefined && (v !== '' || def === undefined)) out += v
      else if (def !== undefined) out += def
      else {
        problems.push({
          rule: 'env/missing-var',
          name,
          message: `environment variable ${name} is not set and "${expr}" has no default`,
          hint: `set ${name}, or give a default: \${${name}:value}`,
          path: [],
          offset: at,
        })
        out += expr
      }
      refs++
      if (at === 0 && close === input.length - 1) whole = true
    }
    i = close + 1
  }
  return { value: out, problems, refs, whole }
}

/** Interpolates one string and throws MAIF_ERR_ENV (prefixed with `where`, e.g. "file:3:9") on any problem. */
export function interpolate(input: string, env: Env, where?: string): string {
  const r = interpolateString(input, env)
  const p = r.problems[0]
  if (p) throw new MaifError('MAIF_ERR_ENV', `${where ? `${where}: ` : ''}${p.message} (${p.hint})`)
  return r.value
}

/**
 * Interpolates every string value of a plain JS value (a definition loaded from a .ts/.js module).
 * Plain objects and arrays are copied; anything else (functions, RegExps, class instances) is kept as is.
 */
export function interpolateValue<T>(value: T, env: Env): { value: T; problems: EnvProblem[] } {
  const problems: EnvProblem[] = []
  const walk = (v: unknown, path: ValuePath): unknown => {
    if (typeof v === 'string') {
      const r = interpolateString(v, env)
      for (const p of r.problems) problems.push({ ...p, path, offset: undefined })
      return r.value
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, i]))
    if (v !== null && typeof v === 'object' && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)) {
      const out: Record<string, unknown> = {}
      for (const [k, x] of Object.entries(v)) out[k] = walk(x, [...path, k])
      return out
    }
    return v
  }
  return { value: walk(value, []) as T, problems }
}

/**
 * Interpolates the string scalars of a parsed YAML (or JSON) document in place; map keys are left alone.
 * `src` is the text the document was parsed from: problems get the exact source offset of their `${`.
 */
export function interpolateDocument(doc: Document, env: Env, src: string): EnvProblem[] {
  const problems: EnvProblem[] = []
  const walk = (node: unknown, path: ValuePath): void => {
    if (yaml().isScalar(node)) {
      if (typeof node.value !== 'string' || !node.value.includes('${')) return
      const r = interpolateString(node.value, env)
      const start = node.range?.[0]
      const raw = start === undefined ? '' : src.slice(start, node.range?.[1])
      let from = 0
      for (const p of r.problems) {
        const needle = p.name ? '${' + p.name : '${'
        let idx = raw.indexOf(needle, from)
        while (idx > 0 && raw[idx - 1] === '$') idx = raw.indexOf(needle, idx + needle.length) // skip $${ escapes
        if (idx >= 0) from = idx + needle.length
        problems.push({ ...p, path, offset: start === undefined ? undefined : start + Math.max(idx, 0) })
      }
      if (r.problems.length === 0 && r.whole && node.type === 'PLAIN') node.value = rescalar(r.value)
      else node.value = r.value
      return
    }
    if (yaml().isMap(node)) {
      for (const pair of node.items) {
        const k = yaml().isScalar(pair.key) ? pair.key.value : pair.key
        walk(pair.value, [...path, typeof k === 'number' ? k : String(k)])
      }
    } else if (yaml().isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, i]))
    }
    // an alias is left alone: the node it points to is interpolated where it is defined
  }
  walk(doc.contents as Node | null, [])
  return problems
}

/** Reads a string as a YAML scalar ("3" → 3, "true" → true); anything that is not a plain scalar stays a string. */
export function rescalar(text: string): unknown {
  if (text === '') return text
  const d = yaml().parseDocument(text)
  if (d.errors.length > 0 || !yaml().isScalar(d.contents)) return text
  return d.contents.value
}
