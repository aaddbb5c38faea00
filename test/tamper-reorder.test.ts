// Moving, splicing and re-signing boxes: each attack is detected, and the tests also show which layer
// catches it (chain, counter, checkpoint, signature pin, AEAD) when the attacker repairs the layers before.
import t from 'tap'
import { join } from 'node:path'
import { verifyContainer, type VerifyOptions, type VerifyResult } from '../src/core/container/verify.js'
import { HEADER_LEN } from '../src/core/format/format.js'
import { buildTwoSessions, makeKeys, parseBoxes, removeDir, scratchDir, verifyBytes, type ParsedBox } from './helpers/container.js'
import { rebuild } from './helpers/forge.js'

t.test('reordering, splicing and re-signing', async (t) => {
  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const A = await makeKeys(join(dir, 'A'))
  const B = await makeKeys(join(dir, 'B'))
  const X = await buildTwoSessions(join(dir, 'x.maif'), A)
  const Y = await buildTwoSessions(join(dir, 'y.maif'), A) // another container, same keyring
  const xb = parseBoxes(X.bytes)
  const yb = parseBoxes(Y.bytes)
  const types = xb.map((b) => b.header.type)
  t.same(types, ['fhdr', 'sess', 'JSON', 'JSON', 'JSON', 'JSON', 'indx', 'ckpt', 'tail', 'sess', 'JSON', 'JSON', 'indx', 'ckpt', 'tail'], 'fixture layout')
  t.same(yb.map((b) => b.header.type), types)
  const raw = (bs: ParsedBox[]): Buffer[] => bs.map((b) => b.bytes)
  const file = join(dir, 'forged.maif')
  const pinA: VerifyOptions = { pinned: [A.pub] }
  const keyedA: VerifyOptions = { pinned: [A.pub], keyProvider: A.keyring }
  const first = (r: VerifyResult): { code: string | undefined; offset: number | undefined } => ({ code: r.errors[0]?.code, offset: r.errors[0]?.offset })

  t.ok((await verifyContainer(X.path, keyedA)).ok, 'X verifies')
  t.ok((await verifyContainer(Y.path, keyedA)).ok, 'Y verifies')

  await t.test('the forger is faithful', async (t) => {
    t.ok((await rebuild(raw(xb))).equals(X.bytes), 'rebuilding an untouched container reproduces it byte for byte')
    const resigned = await rebuild(raw(xb), { signer: A.keyring.signer })
    t.equal(resigned.length, X.bytes.length)
    t.ok((await verifyBytes(file, resigned, keyedA)).ok, 're-signing with the legitimate key still verifies')
  })

  // Session 1's data boxes are xb[2..5]; swap the 2nd and 3rd (counters 1 and 2).
  const swapped = raw(xb)
  ;[swapped[3], swapped[4]] = [swapped[4]!, swapped[3]!]
  const swapAt = xb[3]!.offset // the first box out of place (same offset whatever the sizes)

  await t.test('two data boxes exchanged', async (t) => {
    const bytes = Buffer.concat(swapped)
    t.equal(bytes.length, X.bytes.length)
    t.notOk(bytes.equals(X.bytes), 'the swap changed the file')
    for (const [name, opts] of [['pinned', pinA], ['keyed', keyedA]] as const) {
      const r = await verifyBytes(file, bytes, opts)
      t.notOk(r.ok, `${name}: not ok`)
      t.ok(['MAIF_ERR_SEQUENCE', 'MAIF_ERR_CHAIN'].includes(r.errors[0]!.code), `${name}: ${r.errors[0]!.code} is SEQUENCE or CHAIN`)
      t.equal(r.errors[0]!.offset, swapAt, `${name}: reported at the first moved box`)
    }
  })

  await t.test('exchanged and re-chained (seq, prev, index, tail recomputed)', async (t) => {
    const bytes = await rebuild(swapped)
    t.same(first(await verifyBytes(file, bytes, pinA)), { code: 'MAIF_ERR_COUNTER', offset: swapAt }, 'the session counter catches the move')
  })

  await t.test('exchanged, re-chained and counters renumbered', async (t) => {
    const bytes = await rebuild(swapped, { fixCounters: true })
    const r = await verifyBytes(file, bytes, pinA)
    t.same(first(r), { code: 'MAIF_ERR_CHECKPOINT', offset: xb[7]!.offset }, 'without the key, the signed root catches it at the checkpoint')
    t.same(first(await verifyBytes(file, bytes, keyedA)), { code: 'MAIF_ERR_DECRYPT', offset: swapAt }, 'with the key, AES-GCM catches it at the moved box')
  })

  await t.test('exchanged with a stolen signing key (everything unkeyed recomputed and re-signed)', async (t) => {
    const bytes = await rebuild(swapped, { fixCounters: true, signer: A.keyring.signer })
    // The signing key alone lets an attacker rewrite history; the data keys still bind each block's position.
    t.ok((await verifyBytes(file, bytes, pinA)).ok, 'signature-only verification cannot see it (expected: the signing key was stolen)')
    t.same(first(await verifyBytes(file, bytes, keyedA)), { code: 'MAIF_ERR_DECRYPT', offset: swapAt }, 'the AEAD still catches it')
  })

  // Replace X's 3rd data box (counter 2 of session 1) with Y's box at the same position.
  const spliced = raw(xb)
  spliced[4] = yb[4]!.bytes
  const spliceAt = xb[4]!.offset

  await t.test('a data box spliced in from another container (same keyring)', async (t) => {
    t.equal(yb[4]!.header.seq, xb[4]!.header.seq, 'the donor box even has the same seq')
    const bytes = Buffer.concat(spliced)
    for (const [name, opts] of [['pinned', pinA], ['keyed', keyedA]] as const) {
      const r = await verifyBytes(file, bytes, opts)
      t.notOk(r.ok, `${name}: detected`)
      t.same(first(r), { code: 'MAIF_ERR_CHAIN', offset: spliceAt }, `${name}: the chain breaks at the spliced box`)
    }
    const chained = await rebuild(spliced, { fixCounters: true })
    t.equal(first(await verifyBytes(file, chained, pinA)).code, 'MAIF_ERR_CHECKPOINT', 're-chained: the signed root catches it')
    const resigned = await rebuild(spliced, { fixCounters: true, signer: A.keyring.signer })
    t.same(first(await verifyBytes(file, resigned, keyedA)), { code: 'MAIF_ERR_DECRYPT', offset: spliceAt },
      're-chained and re-signed: the AAD binds the block to its container and session')
  })

  await t.test('checkpoints re-signed with another keyring (B)', async (t) => {
    // Same algorithm, so every re-encoded checkpoint has the same length and nothing else moves.
    const forged = await rebuild(raw(xb), { signer: B.keyring.signer })
    t.equal(forged.length, X.bytes.length)
    const fb = parseBoxes(forged)
    const changed = fb.filter((b, i) => !b.bytes.equals(xb[i]!.bytes)).map((b) => b.header.type)
    t.same(changed, ['ckpt', 'ckpt'], 'only the two checkpoints differ')
    const ckpt1 = xb[7]!.offset
    t.same(first(await verifyBytes(file, forged, pinA)), { code: 'MAIF_ERR_SIGNER_UNTRUSTED', offset: ckpt1 }, 'A pinned: untrusted signer')
    t.same(first(await verifyBytes(file, forged, keyedA)), { code: 'MAIF_ERR_SIGNER_UNTRUSTED', offset: ckpt1 }, 'A pinned + key: untrusted signer')
    const unpinned = await verifyBytes(file, forged, {})
    t.same(first(unpinned), { code: 'MAIF_ERR_SIGNER_UNTRUSTED', offset: ckpt1 }, 'nothing pinned: the session names A, the checkpoint B')
    // B pinned: FORMAT.md §5.2 makes the session's signer informational and §6 checks checkpoints against the
    // pinned key, so a verifier that trusts B accepts B's checkpoints. (Re-signing cannot pass a pin of A.)
    const pinB = await verifyBytes(file, forged, { pinned: [B.pub], keyProvider: A.keyring })
    t.ok(pinB.ok, 'B pinned: accepted, as the spec says (B is trusted by this verifier)')
    t.same(pinB.signers.map((s) => s.keyId), [B.keyring.signer.keyId.toString('hex')], 'and the result names B as the signer')
  })

  await t.test('sessions and checkpoints re-signed with B', async (t) => {
    const forged = await rebuild(raw(xb), { signer: B.keyring.signer, sessSigner: B.keyring.signer })
    const sess = parseBoxes(forged).find((b) => b.header.type === 'sess')!
    t.ok(sess.bytes.subarray(HEADER_LEN).includes(B.keyring.signer.keyId.toString('hex')), 'the session now names B')
    t.same(first(await verifyBytes(file, forged, pinA)), { code: 'MAIF_ERR_SIGNER_UNTRUSTED', offset: xb[7]!.offset }, 'A pinned: untrusted signer')
    // Without a pin, a fully re-signed file is self-consistent: the result must say so and name B.
    const r = await verifyBytes(file, forged, { keyProvider: A.keyring })
    t.ok(r.ok, 'unpinned: consistent')
    t.equal(r.pinned, false)
    t.ok(r.warnings.some((w) => /pinned/.test(w)), 'with a warning that nothing was pinned')
    t.same(r.signers.map((s) => ({ keyId: s.keyId, pinned: s.pinned })), [{ keyId: B.keyring.signer.keyId.toString('hex'), pinned: false }])
  })
})
