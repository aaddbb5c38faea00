// Cross-modal attention checked against hand-computed cases: softmax rows sum to 1, trust 0 removes a
// modality, lower trust lowers the attention a modality receives, permuting the modalities permutes the
// attention and outputs and leaves the fused vector unchanged, and heads attend within their own slices.
import t from 'tap'
import { crossModalAttention, identityWeights, trustOf, xavierWeights, type Modality } from '../src/core/semantic/acam.js'

const v = (...x: number[]): Float32Array => Float32Array.from(x)
const close = (a: ArrayLike<number>, b: ArrayLike<number>, eps = 1e-6): boolean => a.length === b.length && Array.from(a).every((x, i) => Math.abs(x - b[i]!) < eps)

t.test('a hand-computed case (d 2, one head, identity projections)', async (t) => {
  const r = crossModalAttention([{ name: 'text', vector: v(1, 0), trust: 1 }, { name: 'image', vector: v(0, 1), trust: 1 }], { dims: 2, heads: 1 })
  // scores = X Xᵀ / √2 = [[0.7071, 0], [0, 0.7071]]; softmax row 0 = [e^0.7071, 1] / (e^0.7071 + 1)
  const a = Math.exp(Math.SQRT1_2) / (Math.exp(Math.SQRT1_2) + 1)
  t.ok(close(r.attention[0]![0]!, [a, 1 - a]), `row 0 is [${a}, ${1 - a}]`)
  t.ok(close(r.attention[0]![1]!, [1 - a, a]))
  t.ok(close(r.outputs[0]!, [a, 1 - a]), 'output 0 = Σ a_0j v_j')
  t.ok(close(r.fused, [0.5, 0.5]), 'fused is the mean of the outputs at equal trust')
  // Trust 0.5 on the image: its column gets + ln 0.5 before the softmax.
  const h = crossModalAttention([{ name: 'text', vector: v(1, 0), trust: 1 }, { name: 'image', vector: v(0, 1), trust: 0.5 }], { dims: 2, heads: 1 })
  const b = Math.exp(Math.SQRT1_2) / (Math.exp(Math.SQRT1_2) + 0.5)
  t.ok(close(h.attention[0]![0]!, [b, 1 - b]), 'less trust, less attention received')
  const a1 = 0.5 * Math.exp(Math.SQRT1_2) / (0.5 * Math.exp(Math.SQRT1_2) + 1)
  t.ok(close(h.attention[0]![1]!, [1 - a1, a1]))
  t.ok(close(h.fused, [(2 / 3) * b + (1 / 3) * (1 - a1), (2 / 3) * (1 - b) + (1 / 3) * a1]), 'pooled by trust 1 : 0.5')
})

const mods: Modality[] = [
  { name: 'text', vector: v(0.3, -1.2, 0.5, 0.9, 0.1, -0.4), trust: 1 },
  { name: 'image', vector: v(-0.7, 0.2, 0.8, -0.1, 1.1, 0.3), trust: trustOf('unpinned') },
  { name: 'audio', vector: v(0.05, 0.6, -0.9, 0.4, -0.2, 1.0), trust: 0.8 },
]
const opts = { dims: 6, heads: 2, weights: xavierWeights(6, 42) }

t.test('rows sum to 1; trust 0 removes a modality', async (t) => {
  const r = crossModalAttention(mods, opts)
  t.equal(r.attention.length, 2)
  for (const head of r.attention) for (const row of head) t.ok(Math.abs(row.reduce((s, x) => s + x, 0) - 1) < 1e-9, 'a row sums to 1')
  const withZero = crossModalAttention([...mods, { name: 'forged', vector: v(9, 9, 9, 9, 9, 9), trust: trustOf('failed') }], opts)
  for (const head of withZero.attention) for (const row of head) t.equal(row[3], 0, 'nobody attends to a modality of trust 0')
  t.ok(close(withZero.fused, r.fused), 'and the fused vector is as if it were absent')
  t.ok(close(withZero.outputs[1]!, r.outputs[1]!), 'so are the other outputs')
  t.throws(() => crossModalAttention([{ name: 'x', vector: v(1, 2), trust: 0 }], { dims: 2, heads: 1 }), { code: 'MAIF_ERR_INVALID_OPTION' })
  t.throws(() => crossModalAttention(mods, { dims: 6, heads: 4 }), { code: 'MAIF_ERR_INVALID_OPTION' }, 'dims must divide into heads')
  t.throws(() => crossModalAttention([{ name: 'x', vector: v(1, 2), trust: 1.5 }], { dims: 2, heads: 1 }), { code: 'MAIF_ERR_INVALID_OPTION' })
})

t.test('permutation: attention and outputs permute, the fused vector does not change', async (t) => {
  const r = crossModalAttention(mods, opts)
  const perm = [2, 0, 1]
  const p = crossModalAttention(perm.map((i) => mods[i]!), opts)
  for (let h = 0; h < 2; h++) for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) t.ok(Math.abs(p.attention[h]![i]![j]! - r.attention[h]![perm[i]!]![perm[j]!]!) < 1e-9)
  for (let i = 0; i < 3; i++) t.ok(close(p.outputs[i]!, r.outputs[perm[i]!]!, 1e-5))
  t.ok(close(p.fused, r.fused, 1e-5))
})

t.test('heads attend within their own slice of the dimensions', async (t) => {
  const r = crossModalAttention(mods, { dims: 6, heads: 2, weights: identityWeights(6) })
  // Head 1 alone is one-head attention over dimensions 3..5.
  const slice = crossModalAttention(mods.map((m) => ({ ...m, vector: m.vector.slice(3) })), { dims: 3, heads: 1 })
  for (let i = 0; i < 3; i++) t.ok(close(r.attention[1]![i]!, slice.attention[0]![i]!, 1e-9))
  for (let i = 0; i < 3; i++) t.ok(close(r.outputs[i]!.subarray(3), slice.outputs[i]!, 1e-6))
  t.notOk(close(r.attention[0]![0]!, r.attention[1]![0]!, 1e-3), 'the two heads differ')
})
