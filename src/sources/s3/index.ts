// Source `s3`: the objects under an s3:// prefix (or one object), as JSONL, text lines or binary records,
// `concurrency` objects at a time. Records carry their object and line into dead letters. With a `cursor`,
// objects are marked done (and the one in progress its position) once every output has made their records
// durable, so a rerun skips finished objects and resumes the one it was in (at-least-once).
import { resolve } from 'node:path'
import { z } from 'zod'
import { awsOptionsSchema } from '../../core/aws/config.js'
import { parseS3Url, s3Url } from '../../core/aws/s3-url.js'
import { defineSource } from '../../core/runtime/component.js'
import type { AckProgress, SourceInstance } from '../../core/runtime/types.js'
import { S3Cursor, type ObjectPosition } from './cursor.js'
import type { ObjectToken } from './reader.js'

/** The positions `progress` reaches, in source order. */
function positions(progress: AckProgress): Map<string, ObjectPosition> {
  const out = new Map<string, ObjectPosition>()
  const at = (t: ObjectToken, p: ObjectPosition): void => { out.set(t.key, t.etag === undefined ? p : { ...p, etag: t.etag }) }
  for (const t of progress.done as ObjectToken[]) at(t, { offset: t.offset, line: t.line, done: t.last })
  const p = progress.partial
  if (p && p.records > 0) {
    const t = p.token as ObjectToken
    // A part boundary can fall inside a batch: resume right after its last durable record.
    const after = t.records?.after(p.records)
    if (after) at(t, { ...after, done: false })
  }
  return out
}

export const s3Source = defineSource({
  type: 's3',
  description: 'read the objects under an s3:// prefix as JSONL, text lines or binary records',
  options: {
    url: z.string().regex(/^s3:\/\/[^/]+(\/.*)?$/, 'an s3:// URL: s3://BUCKET/PREFIX/ or s3://BUCKET/KEY').describe('s3://BUCKET/PREFIX/ (every object under it, in key order) or s3://BUCKET/KEY'),
    format: z.enum(['jsonl', 'text', 'binary']).describe('jsonl: one JSON record per line; text: one text record per line; binary: one record per object'),
    concurrency: z.int().min(1).max(64).describe('objects read at the same time (default 1)').optional(),
    maxLineLength: z.int().min(1).describe('longest accepted line in bytes; longer lines are dead-lettered').optional(),
    cursor: z.string().min(1).describe('local file that records which objects are done and where the current one stands, so a rerun resumes').optional(),
    listPageSize: z.int().min(1).max(1000).describe('keys per ListObjectsV2 page (default 1000)').optional(),
    aws: awsOptionsSchema.describe('region, endpoint, forcePathStyle; the SDK environment (AWS_REGION, AWS_ENDPOINT_URL_S3, …) applies otherwise').optional(),
  },
  lint({ self, transforms, sinks, definition, report }) {
    if (self.options.format === 'binary') {
      for (const t of transforms) {
        if (t.stage === 'record') report({ rule: 'source/binary-record-stage', path: t.path, message: `'${t.type}' works on line records, and binary input has none`, hint: `remove '${t.type}', or read the input as jsonl or text` })
      }
      for (const s of sinks) {
        if (s.type !== 'container' && s.type !== 's3') report({ rule: 'source/binary-sink', path: s.path, message: `binary input can only go to container sinks, not '${s.type}'`, hint: 'write binary objects into containers' })
      }
    }
    const mode = (definition.sinks as { mode?: unknown } | undefined)?.mode
    if (self.options.cursor !== undefined && mode === 'fallback') {
      report({ rule: 'source/cursor-fallback', path: [...self.path, 'cursor'], message: 'a cursor needs every output to take every record (sinks mode "all")', hint: 'use sinks mode "all", or remove the cursor' })
    }
  },
  paths: (o) => ({ writes: o.cursor ? [o.cursor] : [] }),
  async build(o, ctx): Promise<SourceInstance> {
    const loc = parseS3Url(o.url)
    const { s3Client } = await import('../../core/aws/s3.js') // the SDK loads only for pipelines that use S3
    const { readObjects } = await import('./reader.js')
    const client = s3Client(o.aws)
    const cursorPath = o.cursor ? resolve(ctx.cwd, o.cursor) : null
    const cursor = cursorPath ? S3Cursor.load(cursorPath) : null
    const stats = { files: 0, lines: 0, accepted: 0, rejected: 0, bytes: 0 }
    return {
      batches: () => readObjects({
        client, bucket: loc.bucket, prefix: loc.key, format: o.format, pool: o.format === 'jsonl' ? ctx.pool() : null,
        maxLineLength: o.maxLineLength ?? 16 << 20, concurrency: o.concurrency ?? 1, stats, stop: ctx.stop,
        ...(o.listPageSize ? { pageSize: o.listPageSize } : {}),
        // The listing of an object URL (no trailing '/') also matches longer keys: only the object itself is read.
        ...(loc.isPrefix ? {} : { only: loc.key }),
        onReject: (r) => ctx.deadLetter({ code: r.code, reason: r.reason, raw: r.raw, ...(r.truncated ? { truncated: true } : {}), source: { object: r.file, line: r.line } }),
        start: (key) => cursor?.position(key),
      }),
      commit(progress) {
        cursor?.record(positions(progress))
      },
      stats: () => ({ records: o.format === 'binary' ? stats.accepted : stats.lines, bytes: stats.bytes, files: stats.files }),
      locate(token, ordinal) {
        const t = token as ObjectToken
        const line = t.records?.line(ordinal)
        const object = s3Url(loc.bucket, t.key)
        return line === undefined ? { object } : { object, line }
      },
      describe: () => ({ cursor: cursorPath }),
      async close() {
        cursor?.close()
        client.destroy()
      },
    }
  },
})
