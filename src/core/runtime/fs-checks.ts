// Environment checks that several components share (what `maif validate` runs).
import { constants } from 'node:fs'
import { access, stat } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'

/** Throws unless a file could be created at `path`: the nearest existing directory must be writable (missing ones are created at run time). */
export async function assertWritable(path: string, cwd: string): Promise<void> {
  let dir = dirname(resolve(cwd, path))
  for (;;) {
    try {
      if ((await stat(dir)).isDirectory()) break
    } catch {
      const up = dirname(dir)
      if (up === dir) break
      dir = up
    }
  }
  await access(dir, constants.W_OK)
}
