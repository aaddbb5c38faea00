// Opens a container's bytes by location: a local path, or an s3:// URL. The S3 client is loaded only for
// s3:// URLs, so local reads never pay for the SDK.
import type { AwsOptions } from '../aws/config.js'
import { isS3Url } from '../aws/s3-url.js'
import { FileByteSource, type ByteSource } from './io.js'
import type { S3ByteSourceOptions } from './s3-object.js'

export interface OpenSourceOptions { aws?: AwsOptions; s3?: Omit<S3ByteSourceOptions, 'aws'> }

export async function openByteSource(location: string, opts: OpenSourceOptions = {}): Promise<ByteSource> {
  if (isS3Url(location)) {
    const { S3ByteSource } = await import('./s3-object.js')
    return S3ByteSource.open(location, { ...opts.s3, ...(opts.aws ? { aws: opts.aws } : {}) })
  }
  return FileByteSource.open(location)
}

/** Runs `fn` with an open source and closes it whatever happens. */
export async function withSource<T>(location: string, opts: OpenSourceOptions, fn: (src: ByteSource) => Promise<T>): Promise<T> {
  const src = await openByteSource(location, opts)
  try {
    return await fn(src)
  } finally {
    await src.close()
  }
}
