// Pipeline lint beyond the schema: the structural rules every pipeline follows (record stages before block
// stages, frame first among block stages, unique stages), then each registered component's own rules.
import type { ComponentKind, ComponentRegistry, LintContext, LintEntry, LintSeverity } from './component.js'

export type IssuePath = (string | number)[]

export interface RawIssue {
  severity: LintSeverity
  rule: string
  path: IssuePath
  message: string
  hint?: string
}

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** The entries of a (possibly invalid) definition whose type is registered. */
export function lintEntries(raw: Record<string, unknown>, registry: ComponentRegistry): { source?: LintEntry; transforms: LintEntry[]; sinks: LintEntry[] } {
  const entry = (kind: ComponentKind, v: unknown, path: IssuePath): LintEntry | undefined => {
    if (!isObj(v) || typeof v.type !== 'string') return undefined
    const spec = registry.get(kind, v.type)
    if (!spec) return undefined
    const { type: _t, label: _l, ...options } = v
    return { kind, type: v.type, ...(spec.kind === 'transform' ? { stage: spec.stage } : {}), path, options }
  }
  const transforms = (Array.isArray(raw.transforms) ? raw.transforms : []).map((t, i) => entry('transform', t, ['transforms', i])).filter((e): e is LintEntry => e !== undefined)
  const sinks: LintEntry[] = []
  const s = entry('sink', raw.sink, ['sink'])
  if (s) sinks.push(s)
  if (isObj(raw.sinks) && Array.isArray(raw.sinks.outputs)) {
    raw.sinks.outputs.forEach((o, i) => {
      const e = entry('sink', o, ['sinks', 'outputs', i])
      if (e) sinks.push(e)
    })
  }
  const source = entry('source', raw.source, ['source'])
  return { ...(source ? { source } : {}), transforms, sinks }
}

export function lintDefinition(raw: unknown, registry: ComponentRegistry): RawIssue[] {
  const out: RawIssue[] = []
  if (!isObj(raw)) return out
  const { source, transforms, sinks } = lintEntries(raw, registry)
  const name = (e: LintEntry): string => `'${e.type}'`

  // Structure: record stages run on records, block stages configure how a container frames them, so every
  // record stage comes before every block stage; a stage written after `frame` is never skipped silently.
  const firstBlock = transforms.findIndex((t) => t.stage === 'block')
  const frame = transforms.find((t) => t.type === 'frame')
  for (const [i, t] of transforms.entries()) {
    if (t.stage === 'record' && firstBlock !== -1 && i > firstBlock) {
      const after = frame ?? transforms[firstBlock]!
      out.push({
        severity: 'error', rule: 'order/record-stage-after-frame', path: t.path,
        message: `${name(t)} works on records, so it must come before ${name(after)}: after 'frame' the entries configure the container's block path, and a record stage there would never run`,
        hint: `move ${name(t)} above ${name(after)}`,
      })
    }
    if (t.stage === 'block' && frame && t !== frame && transforms.indexOf(frame) > i) {
      out.push({ severity: 'error', rule: 'order/frame-first', path: t.path, message: `${name(t)} works on blocks, so it must come after 'frame'`, hint: `move 'frame' above ${name(t)}: frame is the first block stage` })
    }
  }
  const seen = new Map<string, LintEntry>()
  for (const t of transforms) {
    const spec = registry.get('transform', t.type)
    if (!spec?.unique) continue
    const first = seen.get(t.type)
    if (first) out.push({ severity: 'error', rule: 'order/duplicate-stage', path: t.path, message: `stage '${t.type}' appears twice (${describe(first.path)} and ${describe(t.path)})`, hint: 'remove one of them' })
    else seen.set(t.type, t)
  }

  // Each component's own rules, next to the component.
  const all = [...(source ? [source] : []), ...transforms, ...sinks]
  for (const self of all) {
    const spec = registry.get(self.kind, self.type)
    if (!spec?.lint) continue
    const ctx: LintContext = {
      self, source, transforms, sinks, definition: raw,
      report: (i) => out.push({ severity: i.severity ?? 'error', rule: i.rule, path: i.path ?? self.path, message: i.message, ...(i.hint ? { hint: i.hint } : {}) }),
    }
    spec.lint(ctx)
  }
  return out
}

function describe(path: IssuePath): string {
  let s = ''
  for (const seg of path) s += typeof seg === 'number' ? `[${seg}]` : s ? `.${seg}` : seg
  return s
}
