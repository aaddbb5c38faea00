// s3:// URLs, without the SDK: commands test for them before deciding to load the S3 client.
import { MaifError } from '../errors.js'

export interface S3Location {
  bucket: string
  /** The key, or the prefix when the URL ends in '/' (may be empty: the whole bucket). */
  key: string
  /** The URL ended in '/' (or named only a bucket): it names a prefix, not an object. */
  isPrefix: boolean
}

export function isS3Url(s: string): boolean {
  return s.startsWith('s3://')
}

/** s3://bucket/key or s3://bucket/prefix/ ; bucket names follow S3's rules (3–63 of a-z 0-9 . -). */
export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url)
  if (!m) throw new MaifError('MAIF_ERR_S3_URL', `'${url}' is not an s3:// URL (s3://BUCKET/KEY, or s3://BUCKET/PREFIX/ for every object under a prefix)`)
  const key = m[2] ?? ''
  return { bucket: m[1]!, key, isPrefix: key === '' || key.endsWith('/') }
}

export function s3Url(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`
}


/** S3's smallest multipart part (except the last). */
export const MIN_PART = 5 << 20
