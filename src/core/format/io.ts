// Positional reads: the reader never streams a whole container to find one block.
import { open, type FileHandle } from 'node:fs/promises'
import { readSync } from 'node:fs'
import { MaifError, wrapError } from '../errors.js'

/**
 * Random access to the bytes of a container, wherever they are: a local file or a remote object (S3). The
 * readers (ContainerReader, verify, inspect, cat) only ever ask for byte ranges, so one interface serves both.
 */
export interface ByteSource {
  /** The path or URL, for messages. */
  readonly name: string
  /** The size in bytes, fixed when the source was opened. */
  readonly size: number
  /** Reads up to `length` bytes at `position` into `buf` at `offset`; returns how many were read (0 at the end). */
  readInto(buf: Buffer, offset: number, length: number, position: number): Promise<number>
  /** What reading cost so far: requests made and bytes fetched (for a file: reads and bytes read). */
  stats(): ByteSourceStats
  close(): Promise<void>
}

export interface ByteSourceStats { requests: number; bytesFetched: number }

/** A local file as a ByteSource. */
export class FileByteSource implements ByteSource {
  readonly name: string
  readonly size: number
  readonly fh: FileHandle
  #requests = 0
  #bytes = 0

  constructor(name: string, fh: FileHandle, size: number) {
    this.name = name
    this.fh = fh
    this.size = size
  }

  static async open(path: string): Promise<FileByteSource> {
    const { fh, size } = await openFile(path, 'r')
    return new FileByteSource(path, fh, size)
  }

  async readInto(buf: Buffer, offset: number, length: number, position: number): Promise<number> {
    const { bytesRead } = await this.fh.read(buf, offset, length, position)
    this.#requests++
    this.#bytes += bytesRead
    return bytesRead
  }

  stats(): ByteSourceStats {
    return { requests: this.#requests, bytesFetched: this.#bytes }
  }

  async close(): Promise<void> {
    await this.fh.close()
  }
}

/** Something positional reads can be made from: an open file, or any ByteSource. */
export type PositionalInput = FileHandle | ByteSource

/** One positional read from either kind; the number of bytes read. */
export async function readSome(src: PositionalInput, buf: Buffer, offset: number, length: number, position: number): Promise<number> {
  if ('readInto' in src) return src.readInto(buf, offset, length, position)
  return (await src.read(buf, offset, length, position)).bytesRead
}

export async function readAt(fh: PositionalInput, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length)
  let done = 0
  try {
    while (done < length) {
      const bytesRead = await readSome(fh, buf, done, length - done, offset + done)
      if (bytesRead === 0) break
      done += bytesRead
    }
  } catch (cause) {
    if (cause instanceof MaifError) throw cause
    throw readError(offset, length, cause)
  }
  return complete(buf, offset, done)
}

/** Opens a container file and reads its size; every open in maif goes through here for one error. */
export async function openFile(path: string, flags: 'r' | 'r+'): Promise<{ fh: FileHandle; size: number }> {
  let fh: FileHandle
  try {
    fh = await open(path, flags)
  } catch (cause) {
    throw wrapError('MAIF_ERR_IO', `cannot open ${path}`, cause)
  }
  try {
    return { fh, size: (await fh.stat()).size }
  } catch (cause) {
    await fh.close()
    throw wrapError('MAIF_ERR_IO', `cannot stat ${path}`, cause)
  }
}

/** Runs `fn` with an open file and its size, and closes the file whatever happens. */
export async function withFile<T>(path: string, flags: 'r' | 'r+', fn: (fh: FileHandle, size: number) => Promise<T>): Promise<T> {
  const { fh, size } = await openFile(path, flags)
  try {
    return await fn(fh, size)
  } finally {
    await fh.close()
  }
}

/**
 * Synchronous positional read, for many tiny reads (box heads) where a thread-pool round trip per read
 * would cost more than the read itself; the bytes are almost always in the page cache.
 */
export function readAtSync(fh: FileHandle, offset: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length)
  return complete(buf, offset, readIntoSync(fh, buf, length, offset))
}

/** Reads up to `length` bytes at `offset` into the start of `buf`; returns how many (fewer only at the end). */
export function readIntoSync(fh: FileHandle, buf: Buffer, length: number, offset: number): number {
  let done = 0
  try {
    while (done < length) {
      const n = readSync(fh.fd, buf, done, length - done, offset + done)
      if (n === 0) break
      done += n
    }
  } catch (cause) {
    throw readError(offset, length, cause)
  }
  return done
}

function readError(offset: number, length: number, cause: unknown): MaifError {
  return wrapError('MAIF_ERR_IO', `cannot read ${length} bytes at offset ${offset}`, cause, { offset })
}

/** A short read means the file ends before the bytes a box claims: truncation, not an I/O error. */
function complete(buf: Buffer, offset: number, done: number): Buffer {
  if (done !== buf.length) throw new MaifError('MAIF_ERR_TRUNCATED', `the container ends at ${offset + done}, before ${offset + buf.length}`, { offset })
  return buf
}
