// One-shot zstd decodes share one decompression context per thread (creating one per block cost 13 µs, most
// of a one-record block's read). A frame that fails (too large for its declaration, corrupt, truncated, a
// second frame after the first) must leave that context fit for the next block: every block decodes to exactly
// its own bytes, whatever failed before it.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { compress as zstdCompress } from 'zstd-napi'
import { decompress } from '../src/core/format/codec.js'
import { CODECS } from '../src/core/format/format.js'

const ZSTD = CODECS.zstd

t.test('a failed frame does not leak into the next block', async (t) => {
  const blocks = [
    Buffer.from(JSON.stringify({ i: 0, msg: 'x'.repeat(300) }) + '\n'),
    randomBytes(5000), // incompressible: stored as raw blocks
    Buffer.from('abc'.repeat(100_000)), // a long match: uses the window
    Buffer.alloc(0x20000, 0x61),
  ]
  const frames = blocks.map((b) => zstdCompress(b))
  const corrupt = Buffer.from(frames[2]!)
  const mid = Math.floor(corrupt.length / 2)
  corrupt[mid] = corrupt[mid]! ^ 0xff
  const failures: Array<{ name: string; body: Buffer; plainLen: number }> = [
    { name: 'more output than declared', body: frames[2]!, plainLen: blocks[2]!.length - 1 },
    { name: 'a corrupt frame', body: corrupt, plainLen: blocks[2]!.length },
    { name: 'a truncated frame', body: frames[3]!.subarray(0, frames[3]!.length - 3), plainLen: blocks[3]!.length },
    { name: 'two frames in one body', body: Buffer.concat([frames[0]!, frames[0]!]), plainLen: blocks[0]!.length },
    { name: 'not a zstd frame', body: Buffer.from('not zstd at all'), plainLen: 10 },
  ]
  for (const f of failures) {
    t.throws(() => decompress(ZSTD, f.body, f.plainLen), { name: 'MaifError', code: 'MAIF_ERR_CODEC' }, `${f.name}: MAIF_ERR_CODEC`)
    for (const [k, b] of blocks.entries()) {
      const out = decompress(ZSTD, frames[k]!, b.length)
      t.ok(out.equals(b), `after ${f.name}: block ${k} (${b.length} bytes) decodes to its own bytes`)
    }
  }
  // Interleaved block sizes, decoded one after the other through the same context.
  const order = [3, 0, 2, 1, 0, 3, 1, 2]
  t.ok(order.every((k) => decompress(ZSTD, frames[k]!, blocks[k]!.length).equals(blocks[k]!)), 'blocks of every size, in any order')
})
