// Sink `s3`: rolling, complete, verifiable containers uploaded to S3 as prefix/YYYY/MM/DD/part-000001.maif.
// Each part is written by the ordinary container write path (frame → compress → encrypt → chain → sign) to a
// temporary file; when it rolls (bytes, records or seconds), the part is closed (final checkpoint and tail),
// uploaded with lib-storage's Upload (bounded queueSize × partSize in memory), and only once S3 has the whole
// object are its records acknowledged. At most one part is written while the previous one uploads, so the
// temporary disk used is at most about two parts. A failed upload fails the run; its records are not acknowledged.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { once } from 'node:events'
import type { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { z } from 'zod'
import { MaifError, wrapError } from '../../core/errors.js'
import { awsOptionsSchema } from '../../core/aws/config.js'
import { MIN_PART, parseS3Url, s3Url } from '../../core/aws/s3-url.js'
import type { UploadHandle } from '../../core/aws/upload.js'
import { WriterSession } from '../../core/container/session.js'
import { ContainerSink as Appender } from '../../core/container/write/appender.js'
import { buildWritePath } from '../../core/container/write-path.js'
import { defineSink } from '../../core/runtime/component.js'
import { containerKeys } from '../../core/runtime/container-keys.js'
import type { Batch, SinkInstance } from '../../core/runtime/types.js'

const DEFAULT_ROLL = { bytes: 64 << 20, seconds: 300 }

interface Part {
  file: string
  opened: Date
  records: number
  head: Transform
  appender: Appender
  done: Promise<void>
  timer: NodeJS.Timeout | undefined
}

export const s3Sink = defineSink({
  type: 's3',
  acknowledgements: 'self',
  framesBlocks: true,
  description: 'upload rolling MAIF containers to S3 (prefix/YYYY/MM/DD/part-NNNNNN.maif); records are acknowledged once their object is uploaded',
  options: {
    url: z.string().regex(/^s3:\/\/[^/]+\/(.*\/)?$/, 'an s3:// prefix ending in /, e.g. s3://bucket/audit/').describe('s3://BUCKET/PREFIX/ under which parts are written'),
    roll: z.strictObject({
      bytes: z.number().int().positive().describe('close a part once its container reaches this many bytes (default 64 MiB)').optional(),
      records: z.number().int().positive().describe('close a part once it holds this many records').optional(),
      seconds: z.number().positive().describe('close a part this long after its first record (default 300)').optional(),
    }).describe('when a part is closed and uploaded (whichever comes first)').optional(),
    upload: z.strictObject({
      partSize: z.number().int().min(MIN_PART).describe('bytes per multipart part (default 8 MiB, at least 5 MiB)').optional(),
      queueSize: z.number().int().min(1).max(64).describe('parts uploaded at once (default 4); memory held is about queueSize × partSize').optional(),
    }).optional(),
    tmpDir: z.string().min(1).describe('where parts are written before upload (default: the OS temporary directory)').optional(),
    aws: awsOptionsSchema.describe('region, endpoint, forcePathStyle; the SDK environment (AWS_REGION, AWS_ENDPOINT_URL_S3, …) applies otherwise').optional(),
  },
  lint({ self, transforms, definition, report }) {
    const requireEncryption = (definition.security as { requireEncryption?: unknown } | undefined)?.requireEncryption !== false
    if (!transforms.some((x) => x.type === 'encrypt') && requireEncryption) {
      report({ rule: 'security/container-requires-encrypt', message: `s3 sink '${String(self.options.url)}' needs an 'encrypt' stage (security.requireEncryption defaults to true)`, hint: `add '- type: encrypt' after compress, or set 'security: { requireEncryption: false }' to write plaintext deliberately` })
    }
  },
  key: (o) => o.url,
  async build(o, ctx): Promise<SinkInstance> {
    const { bucket, key: prefix } = parseS3Url(o.url)
    const { stages, keyProvider, signer, destroy: releaseKeys } = await containerKeys(ctx, `s3 sink ${o.url}`)
    const roll = { bytes: o.roll?.bytes ?? (o.roll?.records ? undefined : DEFAULT_ROLL.bytes), records: o.roll?.records, seconds: o.roll?.seconds ?? DEFAULT_ROLL.seconds }
    // The SDK is loaded when an S3 sink is built, not whenever the registry is: other pipelines never pay for it.
    const { listObjects, s3Client } = await import('../../core/aws/s3.js')
    const { uploadFile } = await import('../../core/aws/upload.js')
    const client = s3Client(o.aws)
    const tmp = await mkdtemp(join(o.tmpDir ? resolve(ctx.cwd, o.tmpDir) : tmpdir(), 'maif-s3-sink-'))
    const counter = ctx.metrics.stage('s3', ctx.label)
    const nextPart = new Map<string, number>() // day directory → next part number
    let part: Part | null = null
    let partNo = 0
    let acked = 0 // records acknowledged (cumulative)
    let taken = 0 // records handed to uploads (cumulative)
    let uploads = 0
    let uploading: Promise<void> = Promise.resolve()
    let inFlight: UploadHandle | null = null
    let failed: unknown
    let chain: Promise<void> = Promise.resolve() // writes, timed rolls and close run one at a time

    const serial = <T>(fn: () => Promise<T>): Promise<T> => {
      const p = chain.then(fn)
      chain = p.then(() => undefined, () => undefined)
      return p
    }

    /** The next free part-NNNNNN key of a day: numbering continues after the parts already there (a rerun never overwrites one). */
    const keyFor = async (d: Date): Promise<string> => {
      const day = `${prefix}${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String(d.getUTCDate()).padStart(2, '0')}/`
      let n = nextPart.get(day)
      if (n === undefined) {
        n = 1
        for await (const obj of listObjects(client, bucket, `${day}part-`)) {
          const m = /^part-(\d+)\.maif$/.exec(obj.key.slice(day.length))
          if (m) n = Math.max(n, Number(m[1]) + 1)
        }
      }
      nextPart.set(day, n + 1)
      return `${day}part-${String(n).padStart(6, '0')}.maif`
    }

    const openPart = async (): Promise<Part> => {
      const file = join(tmp, `part-${++partNo}.maif`)
      const session = await WriterSession.open(file, {
        ...(keyProvider ? { keyProvider } : {}), signer, encryption: keyProvider ? 'required' : 'none', writer: `maif run ${ctx.pipeline}`.trim(),
      })
      let streams: Transform[]
      let appender: Appender
      try {
        ;({ streams } = buildWritePath(session, stages, { pool: ctx.pool() }))
        appender = new Appender({ session, fsync: 'never' }) // durability comes from the upload, not from the temporary file
      } catch (err) {
        await session.close()
        throw err
      }
      const done = pipeline([...streams, appender])
      done.catch((err: unknown) => { failed ??= err })
      const p: Part = { file, opened: new Date(), records: 0, head: streams[0]!, appender, done, timer: undefined }
      p.timer = setTimeout(() => { void serial(() => (part === p ? closePart() : Promise.resolve())).catch((err: unknown) => { failed ??= err }) }, roll.seconds * 1000)
      p.timer.unref()
      return p
    }

    /** Closes the current part (its final commit) and starts its upload after the previous one. */
    const closePart = async (): Promise<void> => {
      const p = part
      if (!p) return
      part = null
      clearTimeout(p.timer)
      p.head.end()
      try {
        await p.done
      } catch (err) {
        throw wrapError('MAIF_ERR_IO', `writing part ${p.file} for ${o.url} failed`, err)
      }
      const records = p.appender.lastCommit?.records ?? 0
      if (records !== p.records) throw new MaifError('MAIF_ERR_IO', `part ${p.file} committed ${records} of its ${p.records} records`)
      const previous = uploading
      const target = (taken += records)
      uploading = (async () => {
        await previous // in order: acknowledgements are cumulative
        if (failed !== undefined) throw failed
        if (records === 0) {
          // A part of empty batches only (positions past rejected lines): nothing to upload, but their tokens
          // are acknowledged in turn, so that a source cursor moves past them.
          await rm(p.file, { force: true })
          ctx.acks.committed(target)
          return
        }
        const key = await keyFor(p.opened)
        await ctx.acks.committing(target, { key: s3Url(bucket, key) })
        inFlight = uploadFile(client, bucket, key, p.file, o.upload ?? {})
        await inFlight.done
        inFlight = null
        uploads++
        acked = target
        counter.recordsOut = acked
        ctx.acks.committed(target)
        ctx.logger?.info({ object: s3Url(bucket, key), records }, 'part uploaded')
        await rm(p.file, { force: true })
      })()
      uploading.catch((err: unknown) => { failed ??= err })
      // Writing the next part may overlap this upload, but not the one after it.
      await previous.catch(() => undefined)
      if (failed !== undefined) throw failed
    }

    const shouldRoll = (p: Part): boolean =>
      (roll.records !== undefined && p.records >= roll.records) || (roll.bytes !== undefined && p.appender.bytesWritten >= roll.bytes)

    const finish = async (): Promise<void> => {
      await closePart()
      await uploading
    }

    return {
      write: (batch: Batch) => serial(async () => {
        if (failed !== undefined) throw failed
        part ??= await openPart()
        const p = part
        p.records += batch.count
        if (!p.head.write(batch)) await Promise.race([once(p.head, 'drain'), p.done])
        if (failed !== undefined) throw failed
        if (shouldRoll(p)) await closePart()
      }),
      flush: () => serial(finish),
      async close() {
        try {
          await serial(finish)
        } finally {
          await rm(tmp, { recursive: true, force: true })
          client.destroy()
          releaseKeys()
        }
      },
      async destroy(err) {
        failed ??= err
        if (part) { clearTimeout(part.timer); part.head.destroy(err); part.appender.destroy(err) }
        await inFlight?.abort()
        await uploading.catch(() => undefined)
        await rm(tmp, { recursive: true, force: true })
        client.destroy()
        releaseKeys()
      },
      describe: () => ({ path: o.url, commits: uploads }),
    }
  },
})
