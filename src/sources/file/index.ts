// Source `file`: files, directories and globs, as JSONL (validated on worker threads), text lines, or whole
// binary files in segments; `concurrency` files at a time. With a `cursor`, progress is durable: keyed to
// the first container output (write-ahead, a resumed run repeats nothing), else written once every output
// has the records (at-least-once).
import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { z } from 'zod'
import { defineSource } from '../../core/runtime/component.js'
import type { AckProgress, SourceInstance } from '../../core/runtime/types.js'
import { Cursor, type FilePosition } from './cursor.js'
import { expandInputs } from './inputs.js'
import { readInputs, type FileToken } from './reader.js'

const FORMATS = ['jsonl', 'text', 'binary'] as const

/** Positions after `progress`, applied to `files` in source order. */
export function applyProgress(files: Map<string, FilePosition>, progress: AckProgress): Map<string, FilePosition> {
  for (const t of progress.done as FileToken[]) files.set(t.file, { offset: t.offset, line: t.line, done: t.last })
  const p = progress.partial
  if (p && p.records > 0) {
    const t = p.token as FileToken
    // A block boundary can fall inside a batch: resume right after its last durable record.
    const at = t.records?.after(p.records)
    if (at) files.set(t.file, { ...at, done: false })
  }
  return files
}

export const fileSource = defineSource({
  type: 'file',
  description: 'read files, directories or globs as JSONL, text lines or whole binary files',
  options: {
    path: z.string().min(1).describe('a file, a directory, a glob such as "logs/**/*.jsonl", or "-" for stdin').optional(),
    paths: z.array(z.string().min(1).describe('a file, directory or glob')).min(1).optional(),
    format: z.enum(FORMATS).describe('jsonl: one JSON record per line; text: one text record per line; binary: one record per file'),
    maxLineLength: z.int().min(1).describe('longest accepted line in bytes; longer lines are dead-lettered').optional(),
    concurrency: z.int().min(1).describe('files read at the same time').optional(),
    cursor: z.string().min(1).describe('file that records progress per input file, so a rerun resumes where it stopped').optional(),
  },
  refine(v, ctx) {
    if ((v.path === undefined) === (v.paths === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: v.path === undefined ? [] : ['paths'],
        message: v.path === undefined ? 'a file source needs `path` or `paths`' : 'a file source takes `path` or `paths`, not both',
        params: { rule: 'schema/path-xor-paths', hint: 'use `path: <file|dir|glob|->` for one input, or `paths: [...]` for several' },
      })
    }
  },
  lint({ self, transforms, sinks, definition, report }) {
    if (self.options.format === 'binary') {
      for (const t of transforms) {
        if (t.stage === 'record') report({ rule: 'source/binary-record-stage', path: t.path, message: `'${t.type}' works on line records, and binary input has none`, hint: `remove '${t.type}', or read the input as jsonl or text` })
      }
      for (const s of sinks) {
        if (s.type !== 'container') report({ rule: 'source/binary-sink', path: s.path, message: `binary input can only go to container sinks, not '${s.type}'`, hint: 'write binary files into a container' })
      }
    }
    const mode = (definition.sinks as { mode?: unknown } | undefined)?.mode
    if (self.options.cursor !== undefined && mode === 'fallback') {
      report({ rule: 'source/cursor-fallback', path: [...self.path, 'cursor'], message: 'a cursor needs every output to take every record (sinks mode "all")', hint: 'use sinks mode "all", or remove the cursor' })
    }
  },
  async paths(o, cwd) {
    const reads = (await expandInputs(o.paths ?? [o.path!], cwd).catch(() => [] as string[])).filter((f) => f !== '-')
    return { reads, writes: o.cursor ? [o.cursor] : [] }
  },
  async check(o, ctx) {
    const files = await expandInputs(o.paths ?? [o.path!], ctx.cwd)
    if (files.length === 0) throw new Error('no input file matches')
  },
  async build(o, ctx): Promise<SourceInstance> {
    const files = await expandInputs(o.paths ?? [o.path!], ctx.cwd)
    const key = ctx.outputs.find((out) => out.key !== undefined)?.key ?? null
    const cursorPath = o.cursor ? resolve(ctx.cwd, o.cursor) : null
    const cursor = cursorPath ? await Cursor.load(cursorPath, key) : null
    const stats = { files: 0, lines: 0, accepted: 0, rejected: 0, bytes: 0 }
    // Known input size gives progress an ETA (stdin has none); a resumed run only reads what is left.
    let totalBytes: number | undefined
    if (!files.includes('-')) {
      totalBytes = 0
      for (const f of files) {
        const p = cursor?.position(f)
        totalBytes += p?.done ? 0 : (await stat(f)).size - (p?.offset ?? 0)
      }
    }
    let committedRecords = 0
    // Where this run resumed each file: lines after it are read again, and an earlier run may have
    // dead-lettered them already. Only a cursor makes a run resume; without one nothing is re-read as such.
    const resumedAt = cursor ? new Map(cursor.files) : null
    const rereadable = new Set(files.filter((f) => f !== '-'))  // stdin cannot be read again
    return {
      batches: () => readInputs(files, {
        format: o.format, pool: o.format === 'jsonl' ? ctx.pool() : null, stats, concurrency: o.concurrency ?? 1,
        // Record ends are only for a cursor to resume from; dead letters name lines without them.
        positions: cursor !== null,
        maxLineLength: o.maxLineLength ?? 16 << 20, stop: ctx.stop,
        onReject: (r) => ctx.deadLetter({ code: r.code, reason: r.reason, raw: r.raw, ...(r.truncated ? { truncated: true } : {}), source: { file: r.file, line: r.line } }),
        ...(cursor ? { start: (f: string) => cursor.position(f) } : {}),
      }),
      prepare(progress, ref) {
        // Write-ahead: the entry for the checkpoint about to be written, keyed by its tree size.
        if (!cursor || key === null || ref.key !== key) return
        cursor.record(key, ref.treeSize ?? 0, ref.records, applyProgress(new Map(cursor.files), progress))
      },
      commit(progress) {
        if (!cursor) return
        applyProgress(cursor.files, progress)
        committedRecords += progress.done.length
        if (key === null) cursor.record(null, 0, committedRecords)
      },
      stats: () => ({ records: o.format === 'binary' ? stats.accepted : stats.lines, bytes: stats.bytes, files: stats.files, ...(totalBytes === undefined ? {} : { totalBytes }) }),
      locate(token, ordinal) {
        const t = token as FileToken
        const line = t.records?.line(ordinal)
        return line === undefined ? { file: t.file } : { file: t.file, line }
      },
      rereads(where) {
        if (!resumedAt || typeof where.file !== 'string' || typeof where.line !== 'number' || !rereadable.has(where.file)) return false
        return where.line > (resumedAt.get(where.file)?.line ?? 0)
      },
      describe: () => ({ cursor: cursorPath }),
      async close() {
        cursor?.close()
      },
    }
  },
})
