// Truncating a container anywhere must fail verification, except exactly at the end of an earlier
// session's tail: that is a clean, shorter container, and only a witness of the longer one exposes it.
import t from 'tap'
import { join } from 'node:path'
import type { ErrorCode } from '../src/core/errors.js'
import { verifyContainer, type Witness } from '../src/core/container/verify.js'
import { buildTwoSessions, makeKeys, parseBoxes, removeDir, scratchDir, verifyBytes, WRAPPED_FOREIGN } from './helpers/container.js'

t.test('truncation at every offset', async (t) => {
  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const keys = await makeKeys(join(dir, 'keys'))
  const c = await buildTwoSessions(join(dir, 'c.maif'), keys)
  const size = c.bytes.length
  const boxes = parseBoxes(c.bytes)
  const s1End = c.sessionEnds[0]!
  t.equal(c.sessionEnds[1], size)
  t.ok(s1End > 0 && s1End < size, 'session 1 ends inside the file')
  t.equal(boxes.find((b) => b.offset + b.header.size === s1End)?.header.type, 'tail', 'session 1 ends with a tail')

  const full = await verifyContainer(c.path, { pinned: [keys.pub] })
  t.ok(full.ok, 'the full container verifies')
  t.equal(full.sessions, 2)
  const witness: Witness = { treeSize: full.treeSize, root: Buffer.from(full.root!, 'base64') }
  t.equal(witness.root.length, 32)
  t.ok((await verifyContainer(c.path, { pinned: [keys.pub], witness })).ok, 'the full container matches its own witness')

  // What a cut at `len` must report: inside a box → TRUNCATED; at a box boundary → UNCOMMITTED when leaves
  // follow the last checkpoint, TORN when the last box is a checkpoint without its tail.
  const ends = new Map(boxes.map((b, i) => [b.offset + b.header.size, i]))
  const expectedCode = (len: number): ErrorCode | 'ok' => {
    if (len === 0) return 'MAIF_ERR_TRUNCATED'
    const i = ends.get(len)
    if (i === undefined) return 'MAIF_ERR_TRUNCATED'
    const last = boxes[i]!.header.type
    if (last === 'tail') return 'ok'
    return last === 'ckpt' ? 'MAIF_ERR_TORN' : 'MAIF_ERR_UNCOMMITTED'
  }

  const t0 = performance.now()
  const clean: number[] = []
  const wrong: Array<{ len: number; want: string; got: string }> = []
  const file = join(dir, 'cut.maif')
  for (let len = 0; len < size; len++) {
    const r = await verifyBytes(file, c.bytes.subarray(0, len), { pinned: [keys.pub] })
    const got = r.ok ? 'ok' : r.errors[0]?.code ?? 'no error'
    if (r.ok !== (r.errors.length === 0)) wrong.push({ len, want: 'ok iff no errors', got: JSON.stringify(r.errors) })
    if (r.ok) clean.push(len)
    if (!r.ok && r.errors[0]!.message.startsWith(WRAPPED_FOREIGN)) wrong.push({ len, want: 'a MaifError', got: r.errors[0]!.message })
    const want = expectedCode(len)
    if (got !== want) wrong.push({ len, want, got })
  }
  t.comment(`${size} truncations verified in ${(performance.now() - t0).toFixed(0)} ms`)
  t.same(clean, [s1End], 'the only clean truncation is the end of session 1')
  t.same(wrong, [], 'every truncation reports the expected code')

  await t.test('the clean prefix fails against a witness of the full container', async (t) => {
    const prefix = c.bytes.subarray(0, s1End)
    const plain = await verifyBytes(file, prefix, { pinned: [keys.pub] })
    t.ok(plain.ok, 'without a witness the prefix verifies')
    t.ok(plain.treeSize < full.treeSize, 'the prefix has a smaller tree')
    const r = await verifyContainer(file, { pinned: [keys.pub], witness })
    t.notOk(r.ok, 'with the witness it does not')
    t.same(r.errors.map((e) => e.code), ['MAIF_ERR_WITNESS'])
    // The full container extends the prefix: a witness of the prefix is satisfied by the full file.
    const early: Witness = { treeSize: plain.treeSize, root: Buffer.from(plain.root!, 'base64') }
    t.ok((await verifyContainer(c.path, { pinned: [keys.pub], witness: early })).ok, 'the full file extends the prefix witness')
    // A witness of the right size but another root means history was rewritten.
    const forged: Witness = { treeSize: plain.treeSize, root: Buffer.from(early.root).fill(0x5a, 0, 1) }
    const rw = await verifyContainer(c.path, { pinned: [keys.pub], witness: forged })
    t.notOk(rw.ok)
    t.equal(rw.errors[0]?.code, 'MAIF_ERR_WITNESS', 'a rewritten history fails the witness')
  })
})
