// Configured paths must not collide: no two outputs (container, cursor, dead letters, files) may be the same
// file, and no output may be an input. Files are compared by device and inode when they exist (so links and
// `..` spellings cannot hide a collision), else by the real path of their directory and their name.
import { realpath, stat } from 'node:fs/promises'
import { basename, dirname, resolve } from 'node:path'
import { MaifError } from '../errors.js'
import type { ComponentRegistry, ComponentSpec } from './component.js'
import { resolveDeadLetter, resolveSinks, type ComponentEntry, type PipelineDefinition } from './pipeline-schema.js'

interface Use { what: string; path: string; write: boolean }

let devices = 0

async function identity(path: string): Promise<string> {
  try {
    const st = await stat(path)
    // /dev/null, /dev/stdout and other devices are not files that a second writer could corrupt.
    if (!st.isFile() && !st.isDirectory()) return `device:${devices++}`
    return `ino:${st.dev}:${st.ino}`
  } catch {
    let dir = dirname(path)
    try {
      dir = await realpath(dir)
    } catch { /* a directory the run will create: compare as written */ }
    return `path:${resolve(dir, basename(path))}`
  }
}

function optionsOf(e: ComponentEntry): Record<string, unknown> {
  const { type: _t, label: _l, ...o } = e
  return o
}

/** The conflicts among the paths the pipeline's components declare, as messages (none: []). */
export async function pathConflicts(def: PipelineDefinition, registry: ComponentRegistry, cwd: string): Promise<string[]> {
  const uses: Use[] = []
  const add = async (kind: 'source' | 'sink', e: ComponentEntry, what: string): Promise<void> => {
    const spec = registry.get(kind, e.type) as ComponentSpec | undefined
    if (!spec?.paths) return
    const p = await (spec.paths as (o: Record<string, unknown>, cwd: string) => Promise<{ reads?: string[]; writes?: string[] }>)(spec.looseOptions ? e : optionsOf(e), cwd)
    for (const r of p.reads ?? []) uses.push({ what: `${what} input`, path: resolve(cwd, r), write: false })
    for (const w of p.writes ?? []) uses.push({ what, path: resolve(cwd, w), write: true })
  }
  await add('source', def.source, 'source')
  for (const [i, o] of resolveSinks(def).outputs.entries()) await add('sink', o, `output ${o.label ?? `${o.type} #${i + 1}`}`)
  const dl = resolveDeadLetter(def)
  if (dl) await add('sink', dl, 'dead letters')
  const ids = await Promise.all(uses.map((u) => identity(u.path)))
  const problems: string[] = []
  for (let i = 0; i < uses.length; i++) {
    for (let j = i + 1; j < uses.length; j++) {
      const a = uses[i]!
      const b = uses[j]!
      if (ids[i] !== ids[j] || (!a.write && !b.write)) continue
      problems.push(`${a.what} (${a.path}) and ${b.what} (${b.path}) are the same file`)
    }
  }
  return problems
}

/** Throws MAIF_ERR_PATH_CONFLICT when any two configured paths collide. */
export async function refusePathConflicts(def: PipelineDefinition, registry: ComponentRegistry, cwd: string): Promise<void> {
  const problems = await pathConflicts(def, registry, cwd)
  if (problems.length > 0) {
    throw new MaifError('MAIF_ERR_PATH_CONFLICT', `the pipeline would overwrite what it reads or writes elsewhere: ${problems.join('; ')}; give each output its own file`)
  }
}
