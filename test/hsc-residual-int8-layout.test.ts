// Residual int8 bytes are little-endian as documented in src/core/semantic/residual-int8.ts: the codebook is
// "MRI1", dims u32, k u32, then binary16 centroids; a code is the centroid id u16, the scale binary16, then
// the int8 residual components. Checked against hand-computed bytes, with a centroid id above 255 so that
// both bytes of the id matter.
import t from 'tap'
import { decodeResidualInt8, encodeResidualInt8, writeResidualInt8Codebook, type ResidualInt8Codebook } from '../src/core/semantic/residual-int8.js'

const D = 4
const K = 300
const centroids = new Float32Array(K * D).fill(8) // every centroid far away…
centroids.set([0.5, -0.25, 0.125, 1], 258 * D) // …but number 258
const cb: ResidualInt8Codebook = { dims: D, k: K, centroids }

t.test('codebook bytes', async (t) => {
  const b = writeResidualInt8Codebook(cb)
  t.equal(b.length, 12 + K * D * 2)
  t.same([...b.subarray(0, 12)], [0x4d, 0x52, 0x49, 0x31, 0x04, 0x00, 0x00, 0x00, 0x2c, 0x01, 0x00, 0x00], 'magic, dims 4, k 300')
  t.same([...b.subarray(12, 14)], [0x00, 0x48], '8 is binary16 0x4800, low byte first')
  const at = 12 + 258 * D * 2
  t.same([...b.subarray(at, at + 8)], [0x00, 0x38, 0x00, 0xb4, 0x00, 0x30, 0x00, 0x3c], '0.5, -0.25, 0.125, 1')
})

t.test('code bytes', async (t) => {
  // Residual (0.254, -0.127, 0, 0): scale = the smallest binary16 ≥ 0.254/127 = 0.002, which is 0x1819
  // (1049/1024 · 2^-9 = 0.0020008…); components 0.254/0.0020008 = 126.95 → 127 and -63.47 → -63.
  const x = Float32Array.from([0.754, -0.377, 0.125, 1])
  const code = encodeResidualInt8(cb, x, { rounding: 'nearest' })
  t.same([...code], [0x02, 0x01, 0x19, 0x18, 0x7f, 0xc1, 0x00, 0x00], 'id 258, scale 0x1819, 127, -63, 0, 0')
  const back = decodeResidualInt8(cb, code)
  const s = 1049 / 1024 * 2 ** -9
  t.same(Array.from(back), Array.from(Float32Array.from([0.5 + 127 * s, -0.25 - 63 * s, 0.125, 1])))
  // The default rounding writes the same header; only residual components may differ, each by one.
  const aniso = encodeResidualInt8(cb, x)
  t.same([...aniso.subarray(0, 4)], [0x02, 0x01, 0x19, 0x18])
  for (let j = 0; j < D; j++) t.ok(Math.abs(aniso.readInt8(4 + j) - code.readInt8(4 + j)) <= 1)
})
