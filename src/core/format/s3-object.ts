// An S3 object as a ByteSource: one HEAD for its size and ETag, then ranged GETs. Small reads (box headers,
// checkpoints, index boxes, session boxes) go through a bounded LRU cache of aligned chunks, so the handful of
// reads that open a container from its tail cost a request or two; large reads (blocks, the scanner's chunks)
// are fetched as exactly the range asked for. Every GET carries If-Match with the ETag from the HEAD: an
// object replaced while it is read fails (MAIF_ERR_S3_CHANGED) instead of mixing two versions.
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { MaifError } from '../errors.js'
import type { AwsOptions } from '../aws/config.js'
import { s3Client, s3Error } from '../aws/s3.js'
import { parseS3Url, s3Url } from '../aws/s3-url.js'
import type { ByteSource, ByteSourceStats } from './io.js'

export interface S3ByteSourceOptions {
  aws?: AwsOptions
  /** A client to use (not destroyed on close); by default one is built from `aws` and the environment. */
  client?: S3Client
  /** Size of a cached chunk (default 64 KiB): reads smaller than `directBytes` are served from aligned chunks. */
  chunkBytes?: number
  /** Most bytes the chunk cache holds (default 1 MiB). */
  cacheBytes?: number
  /** Reads of at least this many bytes bypass the cache (default 256 KiB). */
  directBytes?: number
}

const GET_ATTEMPTS = 3 // a body that breaks off mid-stream is fetched again; the SDK retries the request itself

export class S3ByteSource implements ByteSource {
  readonly name: string
  readonly size: number
  readonly bucket: string
  readonly key: string
  readonly etag: string | undefined
  readonly #client: S3Client
  readonly #ownsClient: boolean
  readonly #chunk: number
  readonly #cacheMax: number
  readonly #direct: number
  readonly #cache = new Map<number, Buffer>()
  #cached = 0
  #requests: number
  #bytes = 0

  private constructor(bucket: string, key: string, size: number, etag: string | undefined, client: S3Client, ownsClient: boolean, opts: S3ByteSourceOptions) {
    this.name = s3Url(bucket, key)
    this.bucket = bucket
    this.key = key
    this.size = size
    this.etag = etag
    this.#client = client
    this.#ownsClient = ownsClient
    this.#chunk = opts.chunkBytes ?? 64 << 10
    this.#cacheMax = Math.max(opts.cacheBytes ?? 1 << 20, this.#chunk)
    this.#direct = opts.directBytes ?? 256 << 10
    this.#requests = 1 // the HEAD
  }

  static async open(url: string, opts: S3ByteSourceOptions = {}): Promise<S3ByteSource> {
    const loc = parseS3Url(url)
    if (loc.isPrefix) throw new MaifError('MAIF_ERR_S3_URL', `${url} names a prefix, not an object`)
    const client = opts.client ?? s3Client(opts.aws)
    try {
      const head = await client.send(new HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key }))
      const size = head.ContentLength
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new MaifError('MAIF_ERR_S3', `HEAD ${url} returned no usable Content-Length`)
      return new S3ByteSource(loc.bucket, loc.key, size, head.ETag, client, opts.client === undefined, opts)
    } catch (err) {
      if (opts.client === undefined) client.destroy()
      throw s3Error(`HEAD ${url}`, err)
    }
  }

  async readInto(buf: Buffer, offset: number, length: number, position: number): Promise<number> {
    if (position >= this.size || length <= 0) return 0
    const len = Math.min(length, this.size - position)
    if (len >= this.#direct) {
      await this.#get(position, len, buf, offset)
      return len
    }
    const C = this.#chunk
    const first = Math.floor(position / C)
    const last = Math.floor((position + len - 1) / C)
    const chunks: Buffer[] = []
    // Fetch each run of missing chunks with one GET.
    for (let i = first; i <= last;) {
      const hit = this.#cache.get(i)
      if (hit) {
        this.#cache.delete(i) // move to the most recently used end
        this.#cache.set(i, hit)
        chunks.push(hit)
        i++
        continue
      }
      let j = i
      while (j + 1 <= last && !this.#cache.has(j + 1)) j++
      const start = i * C
      const end = Math.min((j + 1) * C, this.size)
      const run = Buffer.allocUnsafe(end - start)
      await this.#get(start, run.length, run, 0)
      for (let k = i; k <= j; k++) {
        const c = run.subarray((k - i) * C, Math.min((k - i + 1) * C, run.length))
        chunks.push(c)
        this.#remember(k, c)
      }
      i = j + 1
    }
    let done = 0
    for (let k = 0; k < chunks.length && done < len; k++) {
      const c = chunks[k]!
      const from = k === 0 ? position - first * C : 0
      done += c.copy(buf, offset + done, from, Math.min(c.length, from + len - done))
    }
    return done
  }

  stats(): ByteSourceStats {
    return { requests: this.#requests, bytesFetched: this.#bytes }
  }

  async close(): Promise<void> {
    this.#cache.clear()
    this.#cached = 0
    if (this.#ownsClient) this.#client.destroy()
  }

  #remember(index: number, c: Buffer): void {
    this.#cache.set(index, c)
    this.#cached += c.length
    for (const [k, v] of this.#cache) {
      if (this.#cached <= this.#cacheMax) break
      this.#cache.delete(k)
      this.#cached -= v.length
    }
  }

  /** One ranged GET of exactly [start, start + length) into `into` at `at`. */
  async #get(start: number, length: number, into: Buffer, at: number): Promise<void> {
    const range = `bytes=${start}-${start + length - 1}`
    for (let attempt = 1; ; attempt++) {
      this.#requests++
      let res
      try {
        res = await this.#client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key, Range: range, ...(this.etag ? { IfMatch: this.etag } : {}) }))
      } catch (err) {
        throw s3Error(`GET ${this.name} ${range}`, err)
      }
      const body = res.Body as (AsyncIterable<Uint8Array> & { destroy?: () => void }) | undefined
      // A server that ignores Range would send the whole object: refuse it before reading a byte of it.
      if (!body || res.ContentLength !== length) {
        body?.destroy?.()
        throw new MaifError('MAIF_ERR_S3', `GET ${this.name} ${range} answered ${String(res.ContentLength)} bytes instead of ${length} (the server did not honour the range)`)
      }
      let got = 0
      try {
        for await (const piece of body) {
          if (got + piece.length > length) throw new MaifError('MAIF_ERR_S3', `GET ${this.name} ${range} sent more bytes than it announced`)
          into.set(piece, at + got)
          got += piece.length
        }
      } catch (err) {
        this.#bytes += got
        if (err instanceof MaifError || attempt >= GET_ATTEMPTS) throw s3Error(`reading GET ${this.name} ${range}`, err)
        continue
      }
      this.#bytes += got
      if (got !== length) {
        if (attempt >= GET_ATTEMPTS) throw new MaifError('MAIF_ERR_S3', `GET ${this.name} ${range} ended after ${got} of ${length} bytes`)
        continue
      }
      return
    }
  }
}
