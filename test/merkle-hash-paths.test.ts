// Leaf and node hashes of small inputs are computed in one call over a copy in a reused buffer, larger ones
// through a Hash object. Both paths must give RFC 6962's SHA-256(0x00 || leaf) and SHA-256(0x01 || left ||
// right) exactly, on each side of the boundary, and a result must not change when the next hash reuses the buffer.
import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { leafHash, nodeHash } from '../src/core/format/merkle.js'

const sha = (...parts: Buffer[]): Buffer => {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest()
}

t.test('leaf hashes on both paths', async (t) => {
  const sizes = [0, 1, 31, 32, 33, 4095, 4096, 4097, 10_000, 1 << 20]
  const leaves = sizes.map((n) => randomBytes(n))
  const got = leaves.map((l) => leafHash(l))
  for (const [i, l] of leaves.entries()) t.ok(got[i]!.equals(sha(Buffer.from([0]), l)), `${l.length} bytes`)
  t.ok(got.every((g, i) => g.equals(sha(Buffer.from([0]), leaves[i]!))), 'results kept across later hashes are unchanged')
  t.ok(leaves.every((l, i) => l.equals(leaves[i]!)), 'inputs are not modified')
})

t.test('node hashes on both paths', async (t) => {
  for (const [a, b] of [[32, 32], [0, 0], [2048, 2048], [2048, 2049], [4096, 0], [4096, 1], [5000, 32]] as const) {
    const left = randomBytes(a)
    const right = randomBytes(b)
    t.ok(nodeHash(left, right).equals(sha(Buffer.from([1]), left, right)), `${a} + ${b} bytes`)
  }
})
