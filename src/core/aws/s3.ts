// S3 basics shared by the remote reader, the S3 sink and source, and the CLI: s3:// URLs, one way to build a
// client (always through awsClientConfig, so the SDK's env conventions apply), and SDK errors as MaifErrors.
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { MaifError, wrapError, type ErrorCode } from '../errors.js'
import { awsClientConfig, type AwsOptions } from './config.js'

export { isS3Url, parseS3Url, s3Url, type S3Location } from './s3-url.js'

/** An S3 client configured by the SDK's own conventions plus an optional pipeline `aws:` block. */
export function s3Client(opts: AwsOptions = {}): S3Client {
  return new S3Client({ ...awsClientConfig('S3', opts) })
}

interface SdkError { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } }

/** An SDK failure as a MaifError whose code says what a person can do about it. */
export function s3Error(what: string, err: unknown): MaifError {
  if (err instanceof MaifError) return err
  const e = (typeof err === 'object' && err !== null ? err : {}) as SdkError
  const status = e.$metadata?.httpStatusCode
  const name = e.name ?? e.Code ?? ''
  let code: ErrorCode = 'MAIF_ERR_S3'
  if (name === 'NoSuchKey' || name === 'NoSuchBucket' || name === 'NotFound' || status === 404) code = 'MAIF_ERR_S3_NOT_FOUND'
  else if (name === 'AccessDenied' || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || status === 403) code = 'MAIF_ERR_S3_ACCESS'
  else if (name === 'PreconditionFailed' || status === 412) code = 'MAIF_ERR_S3_CHANGED'
  return wrapError(code, `${what} failed${name ? ` (${name}${status ? ` ${status}` : ''})` : ''}`, err)
}

export interface ListedObject { key: string; size: number; etag: string | undefined }

/** Every object under a prefix, in key order, one ListObjectsV2 page (up to `pageSize` keys) at a time. */
export async function* listObjects(client: S3Client, bucket: string, prefix: string, opts: { startAfter?: string; pageSize?: number } = {}): AsyncGenerator<ListedObject> {
  let token: string | undefined
  do {
    let page
    try {
      page = await client.send(new ListObjectsV2Command({
        Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : opts.startAfter ? { StartAfter: opts.startAfter } : {}),
        ...(opts.pageSize ? { MaxKeys: opts.pageSize } : {}),
      }))
    } catch (err) {
      throw s3Error(`listing s3://${bucket}/${prefix}`, err)
    }
    for (const o of page.Contents ?? []) if (o.Key !== undefined) yield { key: o.Key, size: o.Size ?? 0, etag: o.ETag }
    token = page.IsTruncated ? page.NextContinuationToken : undefined
  } while (token)
}
