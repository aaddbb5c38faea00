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

interface ReadAhead { at: number; whole: Buffer; done: Promise<number> }

/** Room in front of each chunk buffer for the partial box carried over from the chunk before (a data box at most). */
const CARRY = (4 << 20) + (64 << 10)

export async function* scanBoxes(fh: PositionalInput, size: number, opts: ScanOptions = {}): AsyncGenerator<ScannedBox> {
  const maxBox = opts.maxBoxBytes ?? Infinity
  // Buffers are sized for what there is to read: a container smaller than a chunk is read into one buffer of
  // its size, with no room for a carry it cannot need. (Two full-size buffers, 24 MiB for a 3 KiB container,
  // made a process that verifies many small containers spend most of its time in V8's garbage collector.)
  const span = Math.max(size - (opts.from ?? 0), 1)
  const chunkBytes = Math.min(opts.chunkBytes ?? 8 << 20, span)
  const carry = span > chunkBytes ? CARRY : 0
  // Two chunk buffers: while the caller checks the boxes of one, the next chunk is read into the other, so
  // reading and checking overlap (a local read is a copy on the thread pool; an S3 read, a round trip). The
  // second one is allocated by the first read ahead.
  const wholes: Array<Buffer | undefined> = [Buffer.allocUnsafe(carry + chunkBytes), undefined]
  let current = 0
  let buf: Buffer = wholes[0]!.subarray(carry)
  let oversized = false // buf was allocated for one box larger than a chunk
  let bufStart = opts.from ?? 0 // file offset of buf[0]
  let bufLen = 0
  let pos = bufStart
  let ahead = null as ReadAhead | null

  const read = async (into: Buffer, offset: number, length: number, at: number): Promise<number> => {
    try {
      return await readSome(fh, into, offset, length, at)
    } catch (cause) {
      if (cause instanceof MaifError) throw cause
      throw wrapError('MAIF_ERR_IO', `reading the container at offset ${at} failed`, cause, { offset: at })
    }
  }
  /** Starts reading the chunk after buf's data into the other buffer. */
  const prefetch = (): void => {
    const at = bufStart + bufLen
    if (ahead !== null || oversized || at >= size) return
    const whole = (wholes[1 - current] ??= Buffer.allocUnsafe(carry + chunkBytes))
    const done = read(whole, carry, Math.min(chunkBytes, size - at), at)
    done.catch(() => undefined) // observed when it is awaited; until then it must not count as unhandled
    ahead = { at, whole, done }
  }
  const fill = async (need: number): Promise<void> => {
    const keep = bufLen - (pos - bufStart)
    const next = ahead
    ahead = null
    if (next !== null) {
      const n = await next.done
      if (next.at === bufStart + bufLen && keep <= carry && keep + n >= Math.min(need, size - pos)) {
        // The common case: the partial box goes in front of the chunk read ahead, and the buffers swap.
        buf.copy(next.whole, carry - keep, pos - bufStart, bufLen)
        current = 1 - current
        buf = next.whole.subarray(carry - keep, carry + n)
        bufStart = pos
        bufLen = keep + n
        prefetch()
        return
      }
      // Otherwise (a box larger than a chunk) what was read ahead is dropped and read again below.
    }
    // Keep the unread tail, then read until `need` bytes from pos are buffered or EOF.
    if (need > buf.length) {
      const nb = Buffer.allocUnsafe(need)
      buf.copy(nb, 0, pos - bufStart, bufLen)
      buf = nb
      oversized = need > chunkBytes
    } else if (pos !== bufStart) buf.copyWithin(0, pos - bufStart, bufLen)
    bufStart = pos
    bufLen = keep
    while (bufLen < need && bufStart + bufLen < size) {
      const n = await read(buf, bufLen, Math.min(buf.length - bufLen, size - bufStart - bufLen), bufStart + bufLen)
      if (n === 0) break
      bufLen += n
    }
    prefetch()
  }
  try {
    while (pos < size) {
      if (bufStart + bufLen - pos < HEADER_LEN) await fill(HEADER_LEN)
      const avail = bufStart + bufLen - pos
      const header = decodeHeader(buf.subarray(pos - bufStart, pos - bufStart + Math.min(avail, HEADER_LEN)), pos, size - pos)
      if (header.size > maxBox && !isStructural(header.type)) throw boxTooLarge(pos, header.seq, header.size, maxBox)
      if (avail < header.size) await fill(header.size)
      const bytes = buf.subarray(pos - bufStart, pos - bufStart + header.size)
      // A box larger than a chunk is read into a buffer of exactly its size, dropped by the scanner right after.
      yield { offset: pos, header, bytes, owned: oversized && bytes.length === buf.length }
      pos += header.size
      if (oversized && pos - bufStart >= bufLen) {
        // Drop an oversized buffer once its box has been consumed, to stay bounded.
        oversized = false
        buf = wholes[current]!.subarray(carry)
        bufStart = pos
        bufLen = 0
      }
    }
  } finally {
    // A read still in flight when the caller stops early must not fail unobserved.
    if (ahead !== null) await ahead.done.catch(() => undefined)
  }
}
