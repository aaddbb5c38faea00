// Embedding codecs for EMBD payloads: IEEE 754 binary16 (2 bytes a component, round to nearest even) and
// int8 scalar quantisation with one float32 scale per vector (x ≈ q · scale, q in −127…127, scale =
// max|x| / 127). Both little-endian. Node 20 has no Float16Array, so binary16 is converted here.
const F32 = new Float32Array(1)
const U32 = new Uint32Array(F32.buffer)

/** binary32 → binary16 bits, rounding to nearest even (overflow to ±Inf, NaN kept). */
export function toHalf(x: number): number {
  F32[0] = x
  const b = U32[0]!
  const sign = (b >>> 16) & 0x8000
  const exp = (b >>> 23) & 0xff
  let mant = b & 0x7fffff
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0)
  const e = exp - 127 + 15
  if (e >= 0x1f) return sign | 0x7c00
  if (e <= 0) {
    if (e < -10) return sign
    mant |= 0x800000
    const shift = 14 - e
    let half = mant >>> shift
    const rem = mant & ((1 << shift) - 1)
    const halfway = 1 << (shift - 1)
    if (rem > halfway || (rem === halfway && (half & 1) === 1)) half++
    return sign | half
  }
  let half = (e << 10) | (mant >>> 13)
  const rem = mant & 0x1fff
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half++ // a carry into the exponent is still right
  return sign | half
}

export function fromHalf(h: number): number {
  const sign = (h & 0x8000) !== 0 ? -1 : 1
  const exp = (h >>> 10) & 0x1f
  const mant = h & 0x3ff
  if (exp === 0) return sign * mant * 2 ** -24
  if (exp === 0x1f) return mant !== 0 ? NaN : sign * Infinity
  return sign * (1 + mant / 1024) * 2 ** (exp - 15)
}

export const DTYPES = ['float32', 'float16', 'int8'] as const
export type Dtype = (typeof DTYPES)[number]

/** Bytes of `count` vectors of `dims` components in a dtype. */
export function vectorBytes(dtype: Dtype, count: number, dims: number): number {
  return dtype === 'float32' ? count * dims * 4 : dtype === 'float16' ? count * dims * 2 : count * (4 + dims)
}

export function writeVectors(dtype: Dtype, v: Float32Array, dims: number, out: Buffer, at: number): number {
  let o = at
  if (dtype === 'float32') {
    for (let i = 0; i < v.length; i++) o = out.writeFloatLE(v[i]!, o)
  } else if (dtype === 'float16') {
    for (let i = 0; i < v.length; i++) o = out.writeUInt16LE(toHalf(v[i]!), o)
  } else {
    for (let r = 0; r < v.length / dims; r++) {
      let max = 0
      for (let j = 0; j < dims; j++) max = Math.max(max, Math.abs(v[r * dims + j]!))
      const scale = max / 127
      o = out.writeFloatLE(scale, o)
      const inv = scale === 0 ? 0 : 1 / Math.fround(scale)
      for (let j = 0; j < dims; j++) o = out.writeInt8(Math.max(-127, Math.min(127, Math.round(v[r * dims + j]! * inv))), o)
    }
  }
  return o
}

export function readVectors(dtype: Dtype, buf: Buffer, at: number, count: number, dims: number): Float32Array {
  const v = new Float32Array(count * dims)
  let o = at
  if (dtype === 'float32') {
    for (let i = 0; i < v.length; i++, o += 4) v[i] = buf.readFloatLE(o)
  } else if (dtype === 'float16') {
    for (let i = 0; i < v.length; i++, o += 2) v[i] = fromHalf(buf.readUInt16LE(o))
  } else {
    for (let r = 0; r < count; r++) {
      const scale = buf.readFloatLE(o)
      o += 4
      for (let j = 0; j < dims; j++, o++) v[r * dims + j] = buf.readInt8(o) * scale
    }
  }
  return v
}
