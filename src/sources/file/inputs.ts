// Which files a file source reads: files, directories (every file below) and globs, sorted, without duplicates.
import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { glob, isDynamicPattern } from 'tinyglobby'
import { wrapError } from '../../core/errors.js'

export async function expandInputs(paths: readonly string[], cwd = process.cwd()): Promise<string[]> {
  const out: string[] = []
  for (const p of paths) {
    if (p === '-') { out.push('-'); continue }
    if (isDynamicPattern(p)) { out.push(...(await glob(p, { cwd, absolute: true, onlyFiles: true })).sort()); continue }
    const abs = resolve(cwd, p)
    let st
    try {
      st = await stat(abs)
    } catch (cause) {
      throw wrapError('MAIF_ERR_IO', `input ${p} does not exist`, cause)
    }
    if (st.isDirectory()) out.push(...(await glob('**/*', { cwd: abs, absolute: true, onlyFiles: true })).sort())
    else out.push(abs)
  }
  return [...new Set(out)]
}
