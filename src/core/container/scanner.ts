// Forward box scanner: reads a container from byte 0 in large sequential chunks, in bounded memory
// (one chunk, or one box when a box is larger than a chunk).
import type { FileHandle } from 'node:fs/promises'
import { decodeHeader, HEADER_LEN, type BoxHeader } from '../format/format.js'
import { wrapError } from '../errors.js'

export interface ScannedBox {
  offset: number
  header: BoxHeader
  /** The whole box (header + payload). Valid only until the next box is requested. */
  bytes: Buffer
}

export async function* scanBoxes(fh: FileHandle, size: number, opts: { from?: number; chunkBytes?: number } = {}): AsyncGenerator<ScannedBox> {
  const chunkBytes = opts.chunkBytes ?? 8 << 20
  let buf = Buffer.allocUnsafe(chunkBytes)
  let bufStart = opts.from ?? 0 // file offset of buf[0]
  let bufLen = 0
  let pos = bufStart
  const fill = async (need: number): Promise<void> => {
    // Keep the unread tail, then read until `need` bytes from pos are buffered or EOF.
    const keep = bufLen - (pos - bufStart)
    if (need > buf.length) {
      const nb = Buffer.allocUnsafe(need)
      buf.copy(nb, 0, pos - bufStart, bufLen)
      buf = nb
    } else if (pos !== bufStart) buf.copyWithin(0, pos - bufStart, bufLen)
    bufStart = pos
    bufLen = keep
    while (bufLen < need && bufStart + bufLen < size) {
      const want = Math.min(buf.length - bufLen, size - bufStart - bufLen)
      let n: number
      try {
        n = (await fh.read(buf, bufLen, want, bufStart + bufLen)).bytesRead
      } catch (cause) {
        throw wrapError('MAIF_ERR_IO', `reading the container at offset ${bufStart + bufLen} failed`, cause, { offset: bufStart + bufLen })
      }
      if (n === 0) break
      bufLen += n
    }
  }
  while (pos < size) {
    if (bufStart + bufLen - pos < HEADER_LEN) await fill(HEADER_LEN)
    const avail = bufStart + bufLen - pos
    const header = decodeHeader(buf.subarray(pos - bufStart, pos - bufStart + Math.min(avail, HEADER_LEN)), pos, size - pos)
    if (avail < header.size) await fill(header.size)
    const bytes = buf.subarray(pos - bufStart, pos - bufStart + header.size)
    yield { offset: pos, header, bytes }
    pos += header.size
    if (buf.length > chunkBytes && pos - bufStart >= bufLen) {
      // Drop an oversized buffer once its box has been consumed, to stay bounded.
      buf = Buffer.allocUnsafe(chunkBytes)
      bufStart = pos
      bufLen = 0
    }
  }
}
