// Durable cursor of a batch job: an append-only JSONL file of where each input file stands.
// Keyed by a container (write-ahead): one entry per checkpoint, written and fsynced before the checkpoint is;
// on a re-run the entry whose tree size equals the container's committed tree size says exactly where each
// input stands, so a resumed run neither loses nor repeats a record. Without a container (post-commit): one
// entry each time every output has made records durable; a re-run starts after the last entry (records
// durable after it may be read again: at-least-once).
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { dirname } from 'node:path'
import { MaifError, wrapError } from '../../core/errors.js'
import { readCommittedState } from '../../core/container/session.js'

export interface FilePosition { offset: number; line: number; done: boolean }
export interface CursorEntry { v: 1; container: string | null; treeSize: number; records: number; files: Record<string, FilePosition> }

export class Cursor {
  readonly path: string
  readonly files = new Map<string, FilePosition>()
  #fd: number | null = null

  constructor(path: string, start?: CursorEntry) {
    this.path = path
    for (const [f, p] of Object.entries(start?.files ?? {})) this.files.set(f, p)
  }

  /** Where a run should start: the entry matching the container's committed state (or the last one), or nothing. */
  static async load(path: string, container: string | null): Promise<Cursor> {
    if (!existsSync(path)) return new Cursor(path)
    let committed = 0
    if (container && existsSync(container)) {
      const fh = await open(container, 'r')
      try {
        const size = (await fh.stat()).size
        if (size > 0) committed = (await readCommittedState(fh, size, container)).seq
      } finally {
        await fh.close()
      }
    }
    let entries: CursorEntry[]
    try {
      entries = readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as CursorEntry)
    } catch (cause) {
      throw wrapError('MAIF_ERR_IO', `the cursor ${path} is unreadable`, cause)
    }
    if (container === null) {
      const last = entries.filter((e) => e.container === null).pop()
      return new Cursor(path, last)
    }
    if (committed === 0) {
      // No container (or an empty one): start over, and drop entries that describe nothing that exists.
      writeFileSync(path, '')
      return new Cursor(path)
    }
    const match = entries.filter((e) => e.container === container && e.treeSize === committed).pop()
    if (!match) {
      throw new MaifError('MAIF_ERR_IO', `the cursor ${path} has no entry for the ${committed} committed boxes of ${container}; it belongs to another run (delete it to start over)`)
    }
    return new Cursor(path, match)
  }

  position(file: string): FilePosition | undefined {
    return this.files.get(file)
  }

  advance(file: string, p: FilePosition): void {
    this.files.set(file, p)
  }

  /** Appends `files` (default: the current positions) for a checkpoint at `treeSize`, durably. */
  record(container: string | null, treeSize: number, records: number, files: Map<string, FilePosition> = this.files): void {
    try {
      if (this.#fd === null) {
        mkdirSync(dirname(this.path), { recursive: true })
        this.#fd = openSync(this.path, 'a')
      }
      const entry: CursorEntry = { v: 1, container, treeSize, records, files: Object.fromEntries(files) }
      writeSync(this.#fd, JSON.stringify(entry) + '\n')
      fsyncSync(this.#fd)
    } catch (cause) {
      throw wrapError('MAIF_ERR_IO', `cannot write the cursor ${this.path}`, cause)
    }
  }

  close(): void {
    if (this.#fd !== null) closeSync(this.#fd)
    this.#fd = null
  }
}
