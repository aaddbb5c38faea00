// Whole files as binary records, read in segments so that a large file never sits in memory whole.
import { createReadStream } from 'node:fs'
import { basename } from 'node:path'
import type { BinaryPiece } from '../../core/runtime/types.js'

export async function* readBinary(path: string, segment: number, stats: { bytes: number }): AsyncGenerator<BinaryPiece> {
  // Read one piece ahead so the last piece can be marked as last.
  let pending: Buffer | null = null
  for await (const chunk of createReadStream(path, { highWaterMark: segment }) as AsyncIterable<Buffer>) {
    stats.bytes += chunk.length
    if (pending) yield { data: pending, name: basename(path), last: false }
    pending = chunk
  }
  yield { data: pending ?? Buffer.alloc(0), name: basename(path), last: true }
}
