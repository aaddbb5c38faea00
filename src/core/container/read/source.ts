// Container source: a Readable of the boxes of a container file, parsed forward from byte 0.
import { Readable } from 'node:stream'
import { openByteSource, type OpenSourceOptions } from '../../format/open-source.js'
import { scanBoxes } from '../scanner.js'
import { DEFAULT_MAX_BOX } from '../../format/codec.js'
import type { BoxHeader } from '../../format/format.js'

export interface RawBox {
  kind: 'raw'
  offset: number
  header: BoxHeader
  bytes: Buffer
}

export interface ContainerSourceOptions extends OpenSourceOptions { highWaterMark?: number; chunkBytes?: number; maxBoxBytes?: number }

export function containerSource(path: string, opts: ContainerSourceOptions = {}): Readable {
  async function* boxes(): AsyncGenerator<RawBox> {
    const fh = await openByteSource(path, opts)
    const size = fh.size
    try {
      // The scanner reuses its chunk buffer, so a box is copied before it is handed downstream, unless it was
      // read into a buffer of its own. A data box over maxBoxBytes is refused before it is read.
      for await (const b of scanBoxes(fh, size, { ...(opts.chunkBytes ? { chunkBytes: opts.chunkBytes } : {}), maxBoxBytes: opts.maxBoxBytes ?? DEFAULT_MAX_BOX })) {
        yield { kind: 'raw', offset: b.offset, header: b.header, bytes: b.owned ? b.bytes : Buffer.from(b.bytes) }
      }
    } finally {
      await fh.close()
    }
  }
  return Readable.from(boxes(), { objectMode: true, highWaterMark: opts.highWaterMark ?? 8 })
}
