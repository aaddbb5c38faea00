// Uploading a finished container file as one S3 object through lib-storage's Upload (multipart above one
// part), with bounded buffering: the file is streamed in, at most queueSize parts of partSize bytes are held.
import { createReadStream } from 'node:fs'
import type { S3Client } from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { MaifError, wrapError } from '../errors.js'
import { MIN_PART, s3Url } from './s3-url.js'

export interface UploadLimits {
  /** Bytes per multipart part (at least 5 MiB, S3's minimum; default 8 MiB). */
  partSize?: number
  /** Parts uploaded at once (default 4): memory held is about queueSize × partSize. */
  queueSize?: number
}

/** A handle on an upload in progress, so that a failing run can abort it. */
export interface UploadHandle { done: Promise<void>; abort(): Promise<void> }

export function uploadFile(client: S3Client, bucket: string, key: string, file: string, limits: UploadLimits = {}): UploadHandle {
  const partSize = limits.partSize ?? 8 << 20
  const queueSize = limits.queueSize ?? 4
  if (partSize < MIN_PART) throw new MaifError('MAIF_ERR_INVALID_OPTION', `partSize must be at least ${MIN_PART} bytes (S3's minimum part size), got ${partSize}`)
  const body = createReadStream(file, { highWaterMark: 1 << 20 })
  const up = new Upload({
    client, queueSize, partSize, leavePartsOnError: false,
    params: { Bucket: bucket, Key: key, Body: body, ContentType: 'application/vnd.maif' },
  })
  const done = up.done().then(() => undefined, (err: unknown) => {
    body.destroy()
    const name = (err as { name?: string } | null)?.name
    throw wrapError('MAIF_ERR_S3_UPLOAD', `uploading ${file} to ${s3Url(bucket, key)} failed${name ? ` (${name})` : ''}; the object was not written`, err)
  })
  return { done, abort: () => up.abort().catch(() => undefined) }
}
