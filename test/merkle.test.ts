import t from 'tap'
import { createHash } from 'node:crypto'
import {
  CompactTree,
  EMPTY_ROOT,
  HASH_LEN,
  consistencyProof,
  inclusionProof,
  leafHash,
  leafHashParts,
  nodeHash,
  rootOf,
  verifyConsistency,
  verifyInclusion,
} from '../src/core/format/merkle.js'

const sha = (...parts: Buffer[]): Buffer => {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest()
}
const hex = (b: Buffer): string => b.toString('hex')
const flip = (b: Buffer, byte = 0): Buffer => {
  const c = Buffer.from(b)
  c[byte] = c[byte]! ^ 1
  return c
}
const sameList = (a: readonly Buffer[], b: readonly Buffer[]): boolean =>
  a.length === b.length && a.every((x, i) => x.equals(b[i]!))

// Reference implementation written directly from RFC 6962 §2.1 on slices, independent of the module.
const refSplit = (n: number): number => 2 ** Math.ceil(Math.log2(n) - 1)
const refMTH = (d: Buffer[]): Buffer => {
  if (d.length === 0) return sha()
  if (d.length === 1) return d[0]!
  const k = refSplit(d.length)
  return sha(Buffer.from([1]), refMTH(d.slice(0, k)), refMTH(d.slice(k)))
}
const refPATH = (m: number, d: Buffer[]): Buffer[] => {
  if (d.length <= 1) return []
  const k = refSplit(d.length)
  return m < k
    ? [...refPATH(m, d.slice(0, k)), refMTH(d.slice(k))]
    : [...refPATH(m - k, d.slice(k)), refMTH(d.slice(0, k))]
}
const refSUBPROOF = (m: number, d: Buffer[], b: boolean): Buffer[] => {
  if (m === d.length) return b ? [] : [refMTH(d)]
  const k = refSplit(d.length)
  return m <= k
    ? [...refSUBPROOF(m, d.slice(0, k), b), refMTH(d.slice(k))]
    : [...refSUBPROOF(m - k, d.slice(k), false), refMTH(d.slice(0, k))]
}
const refPROOF = (m: number, d: Buffer[]): Buffer[] => (m === 0 || m === d.length ? [] : refSUBPROOF(m, d, true))

// The "shape" of a proof: which side each sibling is on, and whether the old subtree's root is sent.
// A verifier only sees sizes through this shape, so a proof for (m, n) is also accepted, with the same
// roots, for any other sizes of identical shape. Tests use it to state exactly when a wrong size must fail.
const pathShape = (m: number, n: number): string => {
  if (n <= 1) return ''
  const k = refSplit(n)
  return m < k ? pathShape(m, k) + 'R' : pathShape(m - k, n - k) + 'L'
}
const subShape = (m: number, n: number, b: boolean): string => {
  if (m === n) return b ? '' : 'S'
  const k = refSplit(n)
  return m <= k ? subShape(m, k, b) + 'R' : subShape(m - k, n - k, false) + 'L'
}

// Certificate Transparency merkle_tree_test.cc test vectors (also used by RFC 6962 implementations).
const CT_INPUTS = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map((h) => Buffer.from(h, 'hex'))
const CT_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
]
const ctLeaves = CT_INPUTS.map(leafHash)

// Distinct leaf hashes for the exhaustive tests.
const N = 70
const leaves = Array.from({ length: N }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)))
const roots = Array.from({ length: N + 1 }, (_, n) => refMTH(leaves.slice(0, n)))
const OTHER = leafHash(Buffer.from('not in the tree'))

t.test('hash primitives', async (t) => {
  t.equal(HASH_LEN, 32)
  t.equal(hex(EMPTY_ROOT), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
  t.equal(hex(leafHash(Buffer.alloc(0))), '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d')
  t.equal(hex(leafHash(Buffer.from('abc'))), hex(sha(Buffer.from([0]), Buffer.from('abc'))))
  t.equal(
    hex(leafHashParts([Buffer.from('ab'), Buffer.alloc(0), Buffer.from('c')])),
    hex(leafHash(Buffer.from('abc'))),
  )
  t.equal(hex(leafHashParts([])), hex(leafHash(Buffer.alloc(0))))
  const [a, b] = [leaves[0]!, leaves[1]!]
  t.equal(hex(nodeHash(a, b)), hex(sha(Buffer.from([1]), a, b)))
  t.not(hex(nodeHash(a, b)), hex(nodeHash(b, a)), 'node hash is ordered')
  t.not(hex(leafHash(Buffer.concat([a, b]))), hex(nodeHash(a, b)), 'leaf and node hashes are domain separated')
})

t.test('CT / RFC 6962 test vectors', async (t) => {
  for (let n = 1; n <= 8; n++) {
    t.equal(hex(rootOf(ctLeaves.slice(0, n))), CT_ROOTS[n - 1], `rootOf size ${n}`)
    t.equal(hex(refMTH(ctLeaves.slice(0, n))), CT_ROOTS[n - 1], `reference MTH size ${n}`)
  }
  const ct = new CompactTree()
  for (let n = 1; n <= 8; n++) {
    ct.push(ctLeaves[n - 1]!)
    t.equal(hex(ct.root()), CT_ROOTS[n - 1], `CompactTree size ${n}`)
  }
  t.equal(hex(rootOf([])), hex(EMPTY_ROOT))
  t.equal(hex(new CompactTree().root()), hex(EMPTY_ROOT))
  // Paths and proofs from CT's merkle_tree_test.cc, for the 8 leaves above.
  const h = (s: string): Buffer => Buffer.from(s, 'hex')
  const path01 = [
    h('96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7'),
    h('5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e'),
    h('6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'),
  ]
  t.same(inclusionProof(ctLeaves, 0).map(hex), path01.map(hex), 'PATH(0, D[8])')
  t.ok(verifyInclusion(ctLeaves[0]!, 0, 8, path01, h(CT_ROOTS[7]!)))
  const proof18 = [
    h('96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7'),
    h('5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e'),
    h('6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'),
  ]
  t.same(consistencyProof(ctLeaves, 1, 8).map(hex), proof18.map(hex), 'PROOF(1, D[8])')
  t.ok(verifyConsistency(1, 8, h(CT_ROOTS[0]!), h(CT_ROOTS[7]!), proof18))
  const proof68 = [
    h('0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a'),
    h('ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0'),
    h('d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'),
  ]
  t.same(consistencyProof(ctLeaves, 6, 8).map(hex), proof68.map(hex), 'PROOF(6, D[8])')
  t.ok(verifyConsistency(6, 8, h(CT_ROOTS[5]!), h(CT_ROOTS[7]!), proof68))
  const proof25 = [
    h('5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e'),
    h('bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'),
  ]
  t.same(consistencyProof(ctLeaves, 2, 5).map(hex), proof25.map(hex), 'PROOF(2, D[5])')
  t.ok(verifyConsistency(2, 5, h(CT_ROOTS[1]!), h(CT_ROOTS[4]!), proof25))
})

t.test('CompactTree matches rootOf and the reference for every size 0..70', async (t) => {
  const ct = new CompactTree()
  for (let n = 0; n <= N; n++) {
    if (n > 0) ct.push(leaves[n - 1]!)
    t.equal(ct.size, n)
    t.equal(hex(ct.root()), hex(roots[n]!), `root size ${n}`)
    t.equal(hex(rootOf(leaves.slice(0, n))), hex(roots[n]!), `rootOf size ${n}`)
    const f = ct.frontier()
    t.equal(f.length, n.toString(2).replace(/0/g, '').length, `frontier length size ${n}`)
    // Each frontier entry is the root of the next perfect subtree, left to right, largest first.
    let lo = 0
    const expect: string[] = []
    for (let bit = 2 ** 7; bit >= 1; bit /= 2) {
      if (n & bit) {
        expect.push(hex(refMTH(leaves.slice(lo, lo + bit))))
        lo += bit
      }
    }
    t.same(f.map(hex), expect, `frontier contents size ${n}`)
  }
})

t.test('fromFrontier continues identically', async (t) => {
  const ct = new CompactTree()
  for (let n = 0; n <= N; n++) {
    const resumed = CompactTree.fromFrontier(n, ct.frontier())
    t.equal(resumed.size, n)
    t.equal(hex(resumed.root()), hex(roots[n]!), `resumed root size ${n}`)
    for (let i = n; i < Math.min(N, n + 9); i++) resumed.push(leaves[i]!)
    const end = Math.min(N, n + 9)
    t.equal(hex(resumed.root()), hex(roots[end]!), `resumed at ${n}, pushed to ${end}`)
    t.equal(ct.size, n, 'original unaffected')
    if (n < N) ct.push(leaves[n]!)
  }
  t.throws(() => CompactTree.fromFrontier(3, [leaves[0]!]), RangeError, 'too few hashes')
  t.throws(() => CompactTree.fromFrontier(4, [leaves[0]!, leaves[1]!]), RangeError, 'too many hashes')
  t.throws(() => CompactTree.fromFrontier(0, [leaves[0]!]), RangeError, 'hash for empty tree')
  t.throws(() => CompactTree.fromFrontier(1, [Buffer.alloc(31)]), RangeError, 'short hash')
  t.throws(() => CompactTree.fromFrontier(1, [Buffer.alloc(33)]), RangeError, 'long hash')
  t.throws(() => CompactTree.fromFrontier(-1, []), RangeError, 'negative size')
  t.throws(() => CompactTree.fromFrontier(1.5, [leaves[0]!]), RangeError, 'fractional size')
  // Large sizes must not go through 32-bit bitwise operators.
  const big = 2 ** 40 + 3
  const bigTree = CompactTree.fromFrontier(big, [leaves[0]!, leaves[1]!, leaves[2]!])
  t.equal(hex(bigTree.root()), hex(nodeHash(leaves[0]!, nodeHash(leaves[1]!, leaves[2]!))))
  bigTree.push(leaves[3]!)
  t.equal(bigTree.size, big + 1)
  // Subtrees of sizes 2^40, 2, 1 plus one leaf: the new leaf carries into a size-4 subtree.
  t.same(bigTree.frontier().map(hex), [leaves[0]!, nodeHash(leaves[1]!, nodeHash(leaves[2]!, leaves[3]!))].map(hex))
})

t.test('CompactTree isolation: clone, frontier and caller buffers', async (t) => {
  const a = new CompactTree()
  for (let i = 0; i < 5; i++) a.push(leaves[i]!)
  const b = a.clone()
  b.push(leaves[5]!)
  t.equal(a.size, 5)
  t.equal(hex(a.root()), hex(roots[5]!), 'clone push leaves the original alone')
  t.equal(hex(b.root()), hex(roots[6]!))
  a.frontier()[0]!.fill(0)
  a.root().fill(0)
  t.equal(hex(a.root()), hex(roots[5]!), 'mutating returned buffers leaves the tree alone')
  const leaf = Buffer.from(leaves[0]!)
  const c = new CompactTree()
  c.push(leaf)
  leaf.fill(0)
  t.equal(hex(c.root()), hex(roots[1]!), 'mutating a pushed buffer leaves the tree alone')
  const f = [Buffer.from(leaves[0]!)]
  const d = CompactTree.fromFrontier(1, f)
  f[0]!.fill(0)
  t.equal(hex(d.root()), hex(roots[1]!), 'mutating the frontier passed in leaves the tree alone')
  t.throws(() => c.push(Buffer.alloc(31)), RangeError, 'leaf must be a hash')
})

const MAXP = 33

t.test('inclusion proofs for every (index, size) up to 33', async (t) => {
  for (let size = 1; size <= MAXP; size++) {
    const root = roots[size]!
    for (let index = 0; index < size; index++) {
      const at = `(${index}, ${size})`
      const leaf = leaves[index]!
      const proof = inclusionProof(leaves, index, size)
      t.same(proof.map(hex), refPATH(index, leaves.slice(0, size)).map(hex), `PATH ${at}`)
      t.ok(verifyInclusion(leaf, index, size, proof, root), `verifies ${at}`)
      if (size === leaves.length) t.same(inclusionProof(leaves, index).map(hex), proof.map(hex))

      t.notOk(verifyInclusion(flip(leaf), index, size, proof, root), `changed leaf ${at}`)
      t.notOk(verifyInclusion(leaf, index, size, proof, flip(root, 31)), `changed root ${at}`)
      for (let i = 0; i < proof.length; i++) {
        const bad = proof.slice()
        bad[i] = flip(bad[i]!, i % HASH_LEN)
        t.notOk(verifyInclusion(leaf, index, size, bad, root), `changed proof[${i}] ${at}`)
      }
      t.notOk(verifyInclusion(leaf, index, size, [...proof, OTHER], root), `extended proof ${at}`)
      t.notOk(verifyInclusion(leaf, index, size, [...proof, root], root), `extended with root ${at}`)
      t.notOk(verifyInclusion(leaf, index, size, [OTHER, ...proof], root), `prefixed proof ${at}`)
      if (proof.length > 0) {
        t.notOk(verifyInclusion(leaf, index, size, proof.slice(0, -1), root), `shortened proof ${at}`)
        t.notOk(verifyInclusion(leaf, index, size, proof.slice(1), root), `proof without first ${at}`)
        // A shortened proof does verify against the intermediate node it stops at; the size must catch it.
        const partial = proof.slice(0, -1)
        const mid = refMTH(leaves.slice(0, size).slice(0, refSplit(size))).equals(proof.at(-1)!)
          ? refMTH(leaves.slice(refSplit(size), size))
          : refMTH(leaves.slice(0, refSplit(size)))
        t.notOk(verifyInclusion(leaf, index, size, partial, mid), `proof stopping at a subtree root ${at}`)
      }
      for (const j of [index - 1, index + 1, index + 2, size, -1]) {
        if (j === index) continue
        t.notOk(verifyInclusion(leaf, j, size, proof, root), `changed index ${j} ${at}`)
      }
      for (const s of [size - 1, size + 1, size + 2, 2 * size]) {
        if (s <= index) {
          t.notOk(verifyInclusion(leaf, index, s, proof, root), `size ${s} not above index ${at}`)
          continue
        }
        // Against the root of the claimed size the proof is simply for another tree.
        t.notOk(verifyInclusion(leaf, index, s, proof, roots[s]!), `size ${s} with its own root ${at}`)
        // Against the original root, only a size with the same path shape can pass.
        t.equal(
          verifyInclusion(leaf, index, s, proof, root),
          pathShape(index, s) === pathShape(index, size),
          `size ${s} with the original root ${at}`,
        )
      }
    }
  }
})

t.test('inclusion argument checks', async (t) => {
  t.throws(() => inclusionProof(leaves, 5, 5), RangeError)
  t.throws(() => inclusionProof(leaves, 0, 0), RangeError)
  t.throws(() => inclusionProof(leaves, 0, N + 1), RangeError)
  t.throws(() => inclusionProof(leaves, -1, 5), RangeError)
  t.throws(() => inclusionProof(leaves.slice(0, 3), 3), RangeError)
  t.same(inclusionProof(leaves.slice(0, 1), 0), [])
  t.ok(verifyInclusion(leaves[0]!, 0, 1, [], leaves[0]!), 'single leaf is its own root')
  t.notOk(verifyInclusion(leaves[0]!, 0, 1, [leaves[1]!], leaves[0]!), 'single leaf with a sibling')
  t.notOk(verifyInclusion(leaves[0]!, 0, 0, [], EMPTY_ROOT), 'empty tree contains nothing')
  const p = inclusionProof(leaves, 3, 10)
  t.ok(verifyInclusion(leaves[3]!, 3, 10, p, roots[10]!))
  t.notOk(verifyInclusion(leaves[3]!, 3.5, 10, p, roots[10]!), 'fractional index')
  t.notOk(verifyInclusion(leaves[3]!, 3, 10.5, p, roots[10]!), 'fractional size')
  t.notOk(verifyInclusion(leaves[3]!, 3, Number.NaN, p, roots[10]!), 'NaN size')
  t.notOk(verifyInclusion(leaves[3]!.subarray(0, 31), 3, 10, p, roots[10]!), 'short leaf')
  t.notOk(verifyInclusion(leaves[3]!, 3, 10, p, roots[10]!.subarray(0, 31)), 'short root')
  t.notOk(verifyInclusion(leaves[3]!, 3, 10, [...p.slice(0, -1), Buffer.concat([p.at(-1)!, Buffer.alloc(1)])], roots[10]!), 'long proof hash')
})

t.test('consistency proofs for every 0 <= m <= n <= 33', async (t) => {
  for (let n = 0; n <= MAXP; n++) {
    for (let m = 0; m <= n; m++) {
      const at = `(${m}, ${n})`
      const [r1, r2] = [roots[m]!, roots[n]!]
      const proof = consistencyProof(leaves, m, n)
      t.same(proof.map(hex), refPROOF(m, leaves.slice(0, n)).map(hex), `PROOF ${at}`)
      t.ok(verifyConsistency(m, n, r1, r2, proof), `verifies ${at}`)
      if (n === leaves.length) t.same(consistencyProof(leaves, m).map(hex), proof.map(hex))

      for (let i = 0; i < proof.length; i++) {
        const bad = proof.slice()
        bad[i] = flip(bad[i]!, i % HASH_LEN)
        t.notOk(verifyConsistency(m, n, r1, r2, bad), `changed proof[${i}] ${at}`)
      }
      if (m > 0) {
        t.notOk(verifyConsistency(m, n, flip(r1), r2, proof), `changed old root ${at}`)
        t.notOk(verifyConsistency(m, n, r1, flip(r2), proof), `changed new root ${at}`)
        t.notOk(verifyConsistency(m, n, r1, r2, [...proof, OTHER]), `extended proof ${at}`)
        t.notOk(verifyConsistency(m, n, r1, r2, [...proof, r2]), `extended with new root ${at}`)
        t.notOk(verifyConsistency(m, n, r1, r2, [OTHER, ...proof]), `prefixed proof ${at}`)
      } else {
        t.notOk(verifyConsistency(0, n, r1, r2, [OTHER]), `non-empty proof from empty tree ${at}`)
      }
      if (proof.length > 0) {
        t.notOk(verifyConsistency(m, n, r1, r2, proof.slice(0, -1)), `shortened proof ${at}`)
        t.notOk(verifyConsistency(m, n, r1, r2, proof.slice(1)), `proof without first ${at}`)
        // Drop the last element and claim its sibling subtree's root: a verifier that does not
        // check sn === 0 at the end would accept this (the hash-tree bug).
        const k = refSplit(n)
        if (m <= k) {
          t.notOk(verifyConsistency(m, n, r1, roots[k]!, proof.slice(0, -1)), `stops at left subtree ${at}`)
        }
      }
      if (m > 0 && m < n) {
        t.notOk(verifyConsistency(m, m, r1, r1, proof), `non-empty proof for equal sizes ${at}`)
        t.notOk(verifyConsistency(n, m, r2, r1, proof), `sizes swapped ${at}`)
      }
      if (m === n && m > 0) {
        t.notOk(verifyConsistency(m, n, r1, roots[n - 1]!, proof), `equal sizes, different roots ${at}`)
      }

      const expectedShape = m === 0 || m === n ? null : subShape(m, n, true)
      for (const [m2, n2] of [
        [m - 1, n],
        [m + 1, n],
        [m, n - 1],
        [m, n + 1],
        [m, n + 2],
        [m + 1, n + 1],
      ] as const) {
        const at2 = `${at} claimed as (${m2}, ${n2})`
        if (m2 < 0 || n2 < 0 || m2 > n2) {
          t.notOk(verifyConsistency(m2, n2, r1, r2, proof), `impossible sizes ${at2}`)
          continue
        }
        // With the roots of the claimed sizes, only that pair's own proof may pass.
        t.equal(
          verifyConsistency(m2, n2, roots[m2]!, roots[n2]!, proof),
          sameList(proof, refPROOF(m2, leaves.slice(0, n2))),
          `wrong sizes with their own roots ${at2}`,
        )
        // With the original roots, only sizes of the same proof shape can pass.
        let expected: boolean
        if (m2 === 0) expected = proof.length === 0
        else if (m2 === n2) expected = proof.length === 0 && r1.equals(r2)
        else expected = expectedShape !== null && subShape(m2, n2, true) === expectedShape
        t.equal(verifyConsistency(m2, n2, r1, r2, proof), expected, `wrong sizes with original roots ${at2}`)
      }
    }
  }
})

t.test('consistency argument checks', async (t) => {
  t.throws(() => consistencyProof(leaves, 5, 4), RangeError)
  t.throws(() => consistencyProof(leaves, -1, 4), RangeError)
  t.throws(() => consistencyProof(leaves, 0, N + 1), RangeError)
  t.throws(() => consistencyProof(leaves.slice(0, 3), 4), RangeError)
  t.same(consistencyProof(leaves, 0, 7), [])
  t.same(consistencyProof(leaves, 7, 7), [])
  const p = consistencyProof(leaves, 3, 10)
  t.ok(verifyConsistency(3, 10, roots[3]!, roots[10]!, p))
  t.notOk(verifyConsistency(3.5, 10, roots[3]!, roots[10]!, p), 'fractional old size')
  t.notOk(verifyConsistency(3, Number.POSITIVE_INFINITY, roots[3]!, roots[10]!, p), 'infinite new size')
  t.notOk(verifyConsistency(3, 10, roots[3]!.subarray(1), roots[10]!, p), 'short old root')
  t.notOk(verifyConsistency(3, 10, roots[3]!, roots[10]!, [...p.slice(0, -1), p.at(-1)!.subarray(1)]), 'short proof hash')
  t.notOk(verifyConsistency(3, 10, roots[3]!, roots[10]!, []), 'empty proof for m < n')
  t.ok(verifyConsistency(0, 10, EMPTY_ROOT, roots[10]!, []), 'from empty tree')
  t.ok(verifyConsistency(10, 10, roots[10]!, roots[10]!, []), 'same tree')
})
