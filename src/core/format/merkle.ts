// RFC 6962 / RFC 9162 §2.1 Merkle tree over SHA-256.
//
// Sizes and indexes are JS numbers and may exceed 2^32, so this file never uses the 32-bit bitwise
// operators on them: halving is Math.floor(x / 2) and the low bit is x % 2, both exact for safe integers.

import { createHash, hash, timingSafeEqual } from 'node:crypto'

export const HASH_LEN = 32

// Domain separation prefixes: without them a leaf could be passed off as an interior node (second preimage).
const LEAF_PREFIX = Buffer.from([0x00])
const NODE_PREFIX = Buffer.from([0x01])

export const EMPTY_ROOT: Buffer = createHash('sha256').digest()

// Small inputs are hashed in one call over a copy in a reused buffer: a Hash object per leaf and per node cost
// more than the copy, and its collection was a good part of reading one-record blocks (V8's GC took a fifth).
const SMALL = 4096
const scratch = Buffer.allocUnsafeSlow(1 + SMALL)
const sha256 = (n: number): Buffer => hash('sha256', scratch.subarray(0, n), 'buffer')

export function leafHash(entry: Buffer): Buffer {
  if (entry.length > SMALL) return createHash('sha256').update(LEAF_PREFIX).update(entry).digest()
  scratch[0] = 0x00
  entry.copy(scratch, 1)
  return sha256(1 + entry.length)
}

/** Same as leafHash(Buffer.concat(parts)), without copying large entries. */
export function leafHashParts(parts: readonly Buffer[]): Buffer {
  const h = createHash('sha256').update(LEAF_PREFIX)
  for (const p of parts) h.update(p)
  return h.digest()
}

export function nodeHash(left: Buffer, right: Buffer): Buffer {
  if (left.length + right.length > SMALL) return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest()
  scratch[0] = 0x01
  left.copy(scratch, 1)
  right.copy(scratch, 1 + left.length)
  return sha256(1 + left.length + right.length)
}

function isSize(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0
}

function popcount(n: number): number {
  let c = 0
  for (; n > 0; n = Math.floor(n / 2)) c += n % 2
  return c
}

/** Largest power of two strictly less than n (n >= 2): the RFC 6962 split point. */
function splitPoint(n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

/** Incremental tree ("compact range" / frontier): O(log n) memory. */
export class CompactTree {
  // Roots of the perfect subtrees that make up the tree, largest (leftmost) first. Their sizes are the
  // set bits of #size, so the stack is exactly the binary representation of the size.
  #stack: Buffer[] = []
  #size = 0

  static fromFrontier(size: number, frontier: readonly Buffer[]): CompactTree {
    if (!isSize(size)) throw new RangeError(`invalid tree size ${size}`)
    if (frontier.length !== popcount(size)) {
      throw new RangeError(`frontier for size ${size} needs ${popcount(size)} hashes, got ${frontier.length}`)
    }
    for (const h of frontier) {
      if (h.length !== HASH_LEN) throw new RangeError(`frontier hash must be ${HASH_LEN} bytes, got ${h.length}`)
    }
    const t = new CompactTree()
    // Copy so later mutation of the caller's buffers cannot change this tree.
    t.#stack = frontier.map((h) => Buffer.from(h))
    t.#size = size
    return t
  }

  get size(): number {
    return this.#size
  }

  push(leaf: Buffer): void {
    if (leaf.length !== HASH_LEN) throw new RangeError(`leaf hash must be ${HASH_LEN} bytes, got ${leaf.length}`)
    if (this.#size >= Number.MAX_SAFE_INTEGER) throw new RangeError('tree size limit reached')
    let node = leaf
    // Each trailing 1 bit of the old size is a perfect subtree of the same height as node: merge like a
    // binary carry. Amortized one hash per push.
    for (let s = this.#size; s % 2 === 1; s = Math.floor(s / 2)) {
      node = nodeHash(this.#stack.pop()!, node)
    }
    // A lone leaf is kept as-is: copy it so the caller reusing its buffer cannot corrupt the tree.
    this.#stack.push(node === leaf ? Buffer.from(leaf) : node)
    this.#size++
  }

  root(): Buffer {
    const st = this.#stack
    if (st.length === 0) return Buffer.from(EMPTY_ROOT)
    // The RFC split puts the largest perfect subtree on the left, so the root folds right to left.
    let acc = st[st.length - 1]!
    for (let i = st.length - 2; i >= 0; i--) acc = nodeHash(st[i]!, acc)
    return st.length === 1 ? Buffer.from(acc) : acc
  }

  frontier(): Buffer[] {
    return this.#stack.map((h) => Buffer.from(h))
  }

  clone(): CompactTree {
    const t = new CompactTree()
    t.#stack = this.#stack.slice() // hashes are never mutated in place, so sharing them is safe
    t.#size = this.#size
    return t
  }
}

/** MTH of leaves[lo:hi]. */
function rangeRoot(leaves: readonly Buffer[], lo: number, hi: number): Buffer {
  const t = new CompactTree()
  for (let i = lo; i < hi; i++) t.push(leaves[i]!)
  return t.root()
}

export function rootOf(leaves: readonly Buffer[]): Buffer {
  return rangeRoot(leaves, 0, leaves.length)
}

export function inclusionProof(leaves: readonly Buffer[], index: number, size: number = leaves.length): Buffer[] {
  if (!isSize(size) || size > leaves.length) throw new RangeError(`invalid tree size ${size} for ${leaves.length} leaves`)
  if (!isSize(index) || index >= size) throw new RangeError(`leaf index ${index} out of range for size ${size}`)
  // PATH(m, D[lo:hi]) walked top-down; the RFC lists siblings bottom-up, hence the final reverse.
  const path: Buffer[] = []
  let lo = 0
  let hi = size
  while (hi - lo > 1) {
    const mid = lo + splitPoint(hi - lo)
    if (index < mid) {
      path.push(rangeRoot(leaves, mid, hi))
      hi = mid
    } else {
      path.push(rangeRoot(leaves, lo, mid))
      lo = mid
    }
  }
  return path.reverse()
}

export function consistencyProof(leaves: readonly Buffer[], oldSize: number, newSize: number = leaves.length): Buffer[] {
  if (!isSize(newSize) || newSize > leaves.length) {
    throw new RangeError(`invalid tree size ${newSize} for ${leaves.length} leaves`)
  }
  if (!isSize(oldSize) || oldSize > newSize) throw new RangeError(`old size ${oldSize} out of range for size ${newSize}`)
  if (oldSize === 0 || oldSize === newSize) return []
  // SUBPROOF(m, D[lo:hi], b) walked top-down, reversed at the end like PATH.
  const proof: Buffer[] = []
  let m = oldSize
  let lo = 0
  let hi = newSize
  let b = true
  while (m !== hi - lo) {
    const k = splitPoint(hi - lo)
    if (m <= k) {
      proof.push(rangeRoot(leaves, lo + k, hi))
      hi = lo + k
    } else {
      proof.push(rangeRoot(leaves, lo, lo + k))
      lo += k
      m -= k
      b = false
    }
  }
  // When the old tree is itself a subtree met along the right edge, the verifier already has its root.
  if (!b) proof.push(rangeRoot(leaves, lo, hi))
  return proof.reverse()
}

function isHash(h: Buffer): boolean {
  return h.length === HASH_LEN
}

function hashEqual(a: Buffer, b: Buffer): boolean {
  return a.length === HASH_LEN && b.length === HASH_LEN && timingSafeEqual(a, b)
}

export function verifyInclusion(
  leaf: Buffer,
  index: number,
  size: number,
  proof: readonly Buffer[],
  root: Buffer,
): boolean {
  if (!isSize(size) || !isSize(index) || index >= size) return false
  if (!isHash(leaf) || !isHash(root) || !proof.every(isHash)) return false
  let fn = index
  let sn = size - 1
  let r = leaf
  for (const p of proof) {
    if (sn === 0) return false // proof longer than the path to the root
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r)
      // On the right edge of an unbalanced tree a node has no sibling on some levels: skip them.
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2)
        sn = Math.floor(sn / 2)
      }
    } else {
      r = nodeHash(r, p)
    }
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  // sn === 0 rejects a proof that stops short of the root.
  return sn === 0 && hashEqual(r, root)
}

export function verifyConsistency(
  oldSize: number,
  newSize: number,
  oldRoot: Buffer,
  newRoot: Buffer,
  proof: readonly Buffer[],
): boolean {
  if (!isSize(oldSize) || !isSize(newSize) || oldSize > newSize) return false
  if (!isHash(oldRoot) || !isHash(newRoot) || !proof.every(isHash)) return false
  if (oldSize === 0) return proof.length === 0
  if (oldSize === newSize) return proof.length === 0 && hashEqual(oldRoot, newRoot)
  if (proof.length === 0) return false
  // A power-of-two old tree is a complete subtree whose root the verifier already holds, so the prover
  // omits it.
  const path = popcount(oldSize) === 1 ? [oldRoot, ...proof] : proof
  let fn = oldSize - 1
  let sn = newSize - 1
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  let fr = path[0]!
  let sr = path[0]!
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!
    if (sn === 0) return false // proof longer than needed
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr)
      sr = nodeHash(c, sr)
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2)
        sn = Math.floor(sn / 2)
      }
    } else {
      sr = nodeHash(sr, c)
    }
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  // sn === 0 is the check missing from the Haskell hash-tree bug: without it a proof that stops short of
  // the new root still "verifies" against an intermediate node. Both compares run so timing does not
  // reveal which root failed.
  const oldOk = hashEqual(fr, oldRoot)
  const newOk = hashEqual(sr, newRoot)
  return sn === 0 && oldOk && newOk
}
