// Positional reads: the reader never streams a whole container to find one block.
import type { FileHandle } from 'node:fs/promises'
import { MaifError, wrapError } from './errors.js'

export async function readAt(fh: FileHandle, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length)
  let done = 0
  try {
    while (done < length) {
      const { bytesRead } = await fh.read(buf, done, length - done, offset + done)
      if (bytesRead === 0) break
      done += bytesRead
    }
  } catch (cause) {
    throw wrapError('MAIF_ERR_IO', `cannot read ${length} bytes at offset ${offset}`, cause, { offset })
  }
  if (done !== length) throw new MaifError('MAIF_ERR_TRUNCATED', `the container ends at ${offset + done}, before ${offset + length}`, { offset })
  return buf
}
