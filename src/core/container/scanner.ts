// Forward box scanner: reads a container from byte 0 in large sequential chunks, in bounded memory
// (one chunk, or one box when a box is larger than a chunk).
import { decodeHeader, HEADER_LEN, isStructural, type BoxHeader } from '../format/format.js'
import { MaifError, wrapError } from '../errors.js'
import { readSome, type PositionalInput } from '../format/io.js'

/** A data box (or its declared plaintext) over the reader's limit: refused before anything is allocated for it. */
export function boxTooLarge(offset: number, seq: number, size: number, max: number, what = 'is'): MaifError {
  return new MaifError('MAIF_ERR_BOX_TOO_LARGE', `data box #${seq} at offset ${offset} ${what} ${size} bytes, more than this reader's limit of ${max} ` +
    `(the writer's segment size, with room for metadata); nothing of it was read. If this container is trusted to hold larger blocks, ` +
    `raise the limit (--max-box BYTES, or the maxBoxBytes option)`, { offset, seq })
}

export interface ScannedBox {
  offset: number
  header: BoxHeader
  /** The whole box (header + payload). Valid only until the next box is requested, unless `owned`. */
  bytes: Buffer
  /** The box was read into a buffer of its own that the scanner never touches again: it may be kept. */
  owned: boolean
}

export interface ScanOptions {
  from?: number
  chunkBytes?: number
  /** Refuse a data box larger than this before reading it (MAIF_ERR_BOX_TOO_LARGE); structural boxes have their own caps. */
  maxBoxBytes?: number
}

export async function* scanBoxes(fh: PositionalInput, size: number, opts: ScanOptions = {}): AsyncGenerator<ScannedBox> {
  const chunkBytes = opts.chunkBytes ?? 8 << 20
  const maxBox = opts.maxBoxBytes ?? Infinity
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
        n = await readSome(fh, buf, bufLen, want, bufStart + bufLen)
      } catch (cause) {
        if (cause instanceof MaifError) throw cause
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
    if (header.size > maxBox && !isStructural(header.type)) throw boxTooLarge(pos, header.seq, header.size, maxBox)
    if (avail < header.size) await fill(header.size)
    const bytes = buf.subarray(pos - bufStart, pos - bufStart + header.size)
    // A box larger than a chunk is read into a buffer of exactly its size, dropped by the scanner right after.
    yield { offset: pos, header, bytes, owned: buf.length > chunkBytes && bytes.length === buf.length }
    pos += header.size
    if (buf.length > chunkBytes && pos - bufStart >= bufLen) {
      // Drop an oversized buffer once its box has been consumed, to stay bounded.
      buf = Buffer.allocUnsafe(chunkBytes)
      bufStart = pos
      bufLen = 0
    }
  }
}
