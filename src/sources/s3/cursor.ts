// Durable cursor of the s3 source: an append-only JSONL file, one entry each time every output has made more
// records durable, holding the objects whose position changed (key → byte offset, line, done, ETag). Loading
// folds the entries, so a rerun skips finished objects and resumes the one in progress after its last durable
// record. Records made durable after the last entry may be read again (at-least-once), never lost.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import { wrapError } from '../../core/errors.js'

export interface ObjectPosition { offset: number; line: number; done: boolean; etag?: string }
interface Entry { v: 1; objects: Record<string, ObjectPosition> }

export class S3Cursor {
  readonly path: string
  readonly objects = new Map<string, ObjectPosition>()
  #fd: number | null = null

  private constructor(path: string) {
    this.path = path
  }

  static load(path: string): S3Cursor {
    const c = new S3Cursor(path)
    if (!existsSync(path)) return c
    let text: string
    try {
      text = readFileSync(path, 'utf8')
    } catch (cause) {
      throw wrapError('MAIF_ERR_IO', `the cursor ${path} is unreadable`, cause)
    }
    const lines = text.split('\n')
    for (const [i, l] of lines.entries()) {
      if (!l) continue
      let e: Entry
      try {
        e = JSON.parse(l) as Entry
      } catch (cause) {
        // A crash can tear only the last line (each entry is fsynced before the next is written): ignore it.
        if (i === lines.length - 1 || (i === lines.length - 2 && lines[i + 1] === '')) break
        throw wrapError('MAIF_ERR_IO', `the cursor ${path} is damaged at line ${i + 1} (delete it to start over)`, cause)
      }
      for (const [k, p] of Object.entries(e.objects ?? {})) c.objects.set(k, p)
    }
    return c
  }

  position(key: string): ObjectPosition | undefined {
    return this.objects.get(key)
  }

  /** Records the changed positions durably (fsynced) and applies them. */
  record(changed: Map<string, ObjectPosition>): void {
    if (changed.size === 0) return
    try {
      if (this.#fd === null) {
        mkdirSync(dirname(this.path), { recursive: true })
        this.#fd = openSync(this.path, 'a')
      }
      const entry: Entry = { v: 1, objects: Object.fromEntries(changed) }
      writeSync(this.#fd, JSON.stringify(entry) + '\n')
      fsyncSync(this.#fd)
    } catch (cause) {
      throw wrapError('MAIF_ERR_IO', `cannot write the cursor ${this.path}`, cause)
    }
    for (const [k, p] of changed) this.objects.set(k, p)
  }

  close(): void {
    if (this.#fd !== null) closeSync(this.#fd)
    this.#fd = null
  }
}
