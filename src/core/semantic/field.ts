// The text to embed from a record: a field name (`text`), a dotted path (`message.content`), or a simple
// JSONPath (`$.messages[0].content`). Only member and array-index steps: no wildcards or filters.
import { MaifError } from '../errors.js'

export type FieldPath = readonly (string | number)[]

const STEP_RE = /\.([^.[\]]+)|\[(\d+)\]|\[(['"])(.*?)\3\]/y

export function parseFieldPath(spec: string): FieldPath {
  const s = spec.startsWith('$') ? spec.slice(1) : `.${spec}`
  const path: (string | number)[] = []
  STEP_RE.lastIndex = 0
  while (STEP_RE.lastIndex < s.length) {
    const at = STEP_RE.lastIndex
    const m = STEP_RE.exec(s)
    if (!m) throw new MaifError('MAIF_ERR_INVALID_OPTION', `field '${spec}': cannot read a path step at character ${at + (spec.startsWith('$') ? 1 : 0)} (use name, a.b, $.a.b or $.a[0].b)`)
    path.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : m[4]!))
  }
  if (path.length === 0) throw new MaifError('MAIF_ERR_INVALID_OPTION', `field '${spec}' names no field`)
  return path
}

/** The string at `path` in `value`, or undefined when there is none (arrays of strings are joined with spaces). */
export function textAt(value: unknown, path: FieldPath): string | undefined {
  let v = value
  for (const step of path) {
    if (v === null || typeof v !== 'object') return undefined
    v = typeof step === 'number' ? (Array.isArray(v) ? v[step] : undefined) : Array.isArray(v) ? undefined : (v as Record<string, unknown>)[step]
  }
  if (typeof v === 'string') return v
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string')) return v.join(' ')
  return undefined
}
