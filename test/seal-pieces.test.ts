// seal() returns its ciphertext in pieces of at most SEAL_PIECE bytes, then the tag (crypto.ts: pieces of one size
// reuse freed memory, where one block-sized ciphertext per block fragmented the write path's heap). The pieces,
// joined, are exactly the one-call ciphertext, and open() takes them back; nothing is lost at a piece's edge.
import t from 'tap'
import { createCipheriv, randomBytes, createSecretKey } from 'node:crypto'
import { SEAL_PIECE, TAG_LEN, nonceFor, open, seal } from '../src/core/format/crypto.js'

const key = createSecretKey(randomBytes(32))
const aad = Buffer.from('maif test aad')

for (const size of [0, 1, SEAL_PIECE - 1, SEAL_PIECE, SEAL_PIECE + 1, 3 * SEAL_PIECE + 17, 1 << 20]) {
  t.test(`${size} bytes`, async (t) => {
    const plain = randomBytes(size)
    const parts = seal(key, 42, aad, plain)
    const tag = parts.at(-1)!
    const pieces = parts.slice(0, -1).filter((p) => p.length > 0)
    t.equal(tag.length, TAG_LEN, 'the tag comes last')
    t.ok(pieces.every((p) => p.length <= SEAL_PIECE), 'no piece is longer than SEAL_PIECE')
    t.equal(pieces.length, Math.ceil(size / SEAL_PIECE), 'as few pieces as that allows')
    // The same key and nonce in one call: the reference the pieces must add up to.
    const c = createCipheriv('aes-256-gcm', key, nonceFor(42))
    c.setAAD(aad)
    const whole = Buffer.concat([c.update(plain), c.final()])
    t.ok(Buffer.concat(pieces).equals(whole), 'joined, the pieces are the one-call ciphertext')
    t.ok(tag.equals(c.getAuthTag()), 'and the tag is its tag')
    t.ok(open(key, 42, aad, Buffer.concat(parts)).equals(plain), 'open() gives the plaintext back')
    if (size > 0) {
      const bad = Buffer.concat(parts)
      bad[Math.min(size - 1, SEAL_PIECE)]! ^= 1 // a byte at (or near) a piece's edge
      t.throws(() => open(key, 42, aad, bad), { code: 'MAIF_ERR_DECRYPT' }, 'a flipped byte fails authentication')
    }
  })
}
