// The streaming decompressor: every codec round-trips, output is capped by the declared length as it is
// produced, a truncated frame is an error, and chunk boundaries do not matter.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { BlockInflater, compressParts, decompress, InnerHeadCollector } from '../src/core/format/codec.js'
import { CODECS, type Codec } from '../src/core/format/format.js'

const data = Buffer.concat([randomBytes(3000), Buffer.alloc(300_000, 'a'), randomBytes(777)])

t.test('round trips, in one piece and in small chunks', async (t) => {
  for (const codec of Object.keys(CODECS) as Codec[]) {
    const body = compressParts(codec, [data])
    t.ok(decompress(CODECS[codec], body, data.length).equals(data), `${codec}: whole`)
    const got: Buffer[] = []
    const inf = new BlockInflater(CODECS[codec], data.length, (c) => got.push(Buffer.from(c)))
    for (let o = 0; o < body.length; o += 333) inf.push(body.subarray(o, o + 333))
    inf.end()
    t.ok(Buffer.concat(got).equals(data), `${codec}: in 333-byte chunks`)
  }
})

t.test('the declared length caps the output; a short or truncated body is an error', async (t) => {
  for (const codec of Object.keys(CODECS) as Codec[]) {
    const body = compressParts(codec, [data])
    t.throws(() => decompress(CODECS[codec], body, data.length - 1), { code: 'MAIF_ERR_CODEC' }, `${codec}: one byte more than declared`)
    t.throws(() => decompress(CODECS[codec], body, data.length + 1), { code: 'MAIF_ERR_CODEC' }, `${codec}: one byte less than declared`)
    if (codec !== 'none') t.throws(() => decompress(CODECS[codec], body.subarray(0, body.length - 5), data.length), { code: 'MAIF_ERR_CODEC' }, `${codec}: truncated`)
  }
  t.throws(() => decompress(CODECS.zstd, Buffer.alloc(0), 0), { code: 'MAIF_ERR_CODEC' }, 'zstd: an empty body is not a frame')
  t.throws(() => new BlockInflater(9, 10, () => {}), { code: 'MAIF_ERR_CODEC' }, 'unknown codec')
  // The cap is enforced while decoding: a sink sees at most the declared bytes before the error.
  let seen = 0
  const inf = new BlockInflater(CODECS.zstd, 1000, (c) => { seen += c.length })
  t.throws(() => { inf.push(compressParts('zstd', [Buffer.alloc(50 << 20)])); inf.end() }, { code: 'MAIF_ERR_CODEC', message: /expands beyond the 1000 bytes/ })
  t.ok(seen <= 1000, `the sink saw ${seen} bytes`)
})

t.test('the inner head collector keeps the length prefix and private metadata only', async (t) => {
  const priv = Buffer.from('{"tenant":"t1"}')
  const len = Buffer.alloc(4)
  len.writeUInt32BE(priv.length)
  const inner = Buffer.concat([len, priv, Buffer.alloc(10_000, 7)])
  for (const step of [1, 3, 7, 100, inner.length]) {
    const h = new InnerHeadCollector()
    for (let o = 0; o < inner.length; o += step) h.add(inner.subarray(o, o + step))
    t.ok(h.head.equals(inner.subarray(0, 4 + priv.length)), `chunks of ${step}`)
  }
})
