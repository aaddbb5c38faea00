// Property tests: the read path (scanBoxes, verifyContainer) survives arbitrary input. verify never throws
// for a bad container and reports only MaifError codes; scanBoxes only ever throws MaifError.
import t from 'tap'
import fc from 'fast-check'
import { join } from 'node:path'
import { readFile, type FileHandle } from 'node:fs/promises'
import { ErrorCodes, MaifError } from '../src/core/errors.js'
import { encodeHeader, HEADER_LEN } from '../src/core/format/format.js'
import { scanBoxes } from '../src/core/container/scanner.js'
import { verifyContainer, type VerifyOptions, type VerifyResult } from '../src/core/container/verify.js'
import { writeContainer } from '../src/core/container/writer.js'
import {
  buildTwoSessions, jsonRecords, makeKeys, parseBoxes, removeDir, scratchDir, verifyBytes, WRAPPED_FOREIGN, writeOpts,
} from './helpers/container.js'
import { rebuild } from './helpers/forge.js'
import { mutate, mutationArb } from './helpers/mutations.js'

const SEED = Number(process.env.MAIF_FUZZ_SEED ?? 20240611)

/** A FileHandle over a Buffer: only `read` is used by scanBoxes. */
function memHandle(src: Uint8Array): FileHandle {
  const b = Buffer.from(src.buffer, src.byteOffset, src.byteLength)
  return {
    read: async (buf: Buffer, off: number, len: number, pos: number) => ({ bytesRead: b.copy(buf, off, pos, Math.min(pos + len, b.length)), buffer: buf }),
  } as unknown as FileHandle
}

/** The violations of "a clean failure" in a verify result (empty when the result is well-formed). */
function resultProblems(r: VerifyResult): string[] {
  const p: string[] = []
  if (r.ok !== (r.errors.length === 0)) p.push(`ok=${r.ok} with ${r.errors.length} errors`)
  for (const e of r.errors) {
    if (!e.code.startsWith('MAIF_ERR_') || !(e.code in ErrorCodes)) p.push(`unknown code ${e.code}`)
    if (e.code === 'MAIF_ERR_IO') p.push('MAIF_ERR_IO for a readable file')
    if (e.message.startsWith(WRAPPED_FOREIGN)) p.push(`a non-MaifError escaped a decoder: ${e.message}`)
  }
  return p
}

t.test('fuzzing the read path', async (t) => {
  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const keys = await makeKeys(join(dir, 'keys'))
  const c = await buildTwoSessions(join(dir, 'c.maif'), keys)
  // A plaintext, brotli-compressed container: without encryption the verifier decompresses and parses every
  // block, so mutations reach the codec and inner-payload decoders.
  const plainPath = join(dir, 'plain.maif')
  await writeContainer(plainPath, jsonRecords(12), writeOpts(keys, { encryption: 'none', codec: 'brotli', framer: { blockRecords: 4 } }))
  await writeContainer(plainPath, jsonRecords(3), writeOpts(keys, { encryption: 'none', codec: 'gzip' }))
  const plain = parseBoxes(await readFile(plainPath))
  const file = join(dir, 'fuzz.maif')
  const pinned: VerifyOptions = { pinned: [keys.pub] }
  const keyed: VerifyOptions = { pinned: [keys.pub], keyProvider: keys.keyring }
  // Without a key, verify only decodes plaintext blocks when a consumer asks for them.
  const decodeAll: VerifyOptions = { pinned: [keys.pub], onBlock: () => {} }
  t.ok((await verifyContainer(c.path, keyed)).ok, 'the seed container verifies')
  t.ok((await verifyContainer(plainPath, pinned)).ok, 'the plaintext seed container verifies')

  await t.test('random bytes: verify never throws and fails cleanly', async (t) => {
    // Half the inputs start with a valid fhdr box so that they get past the first header.
    const prefix = c.bytes.subarray(0, 100)
    const arb = fc.tuple(fc.boolean(), fc.uint8Array({ minLength: 0, maxLength: 1500 }))
    const bad: unknown[] = []
    await fc.assert(fc.asyncProperty(arb, async ([withHeader, bytes]) => {
      const input = withHeader ? Buffer.concat([prefix, bytes]) : Buffer.from(bytes)
      const r = await verifyBytes(file, input, pinned)
      const p = resultProblems(r)
      if (r.ok) p.push('random bytes verified as ok')
      if (p.length) bad.push({ problems: p, input: input.toString('base64') })
      return p.length === 0
    }), { numRuns: 400, seed: SEED })
    t.same(bad, [])
  })

  await t.test('mutated containers: verify never throws, fails cleanly, and accepts only the original or a session prefix', async (t) => {
    const allowed = new Set([c.bytes.toString('base64'), c.bytes.subarray(0, c.sessionEnds[0]).toString('base64')])
    const arb = fc.tuple(fc.array(mutationArb, { minLength: 1, maxLength: 4 }), fc.boolean())
    let failures = 0
    await fc.assert(fc.asyncProperty(arb, async ([muts, withKey]) => {
      const input = mutate(c.bytes, muts)
      const r = await verifyBytes(file, input, withKey ? keyed : pinned)
      const p = resultProblems(r)
      if (r.ok && !allowed.has(input.toString('base64'))) p.push('a mutated container verified as ok')
      if (!r.ok) failures++
      return p.length === 0 || (t.comment(JSON.stringify({ muts: muts.map((m) => m.kind), p })), false)
    }), { numRuns: 400, seed: SEED + 1 })
    t.ok(failures > 300, `most mutations are rejected (${failures}/400)`)
  })

  await t.test('mutated and then re-chained and re-signed: the deep decoders fail cleanly', async (t) => {
    // The forger repairs chain, index, tails and signatures, so every mutation inside a box payload reaches
    // the payload decoders, the key unwrap, the AEAD and the codecs instead of stopping at the chain.
    const seeds = [{ name: 'encrypted', boxes: parseBoxes(c.bytes), opts: keyed }, { name: 'plaintext', boxes: plain, opts: decodeAll }]
    const codes = new Map<string, number>()
    const arb = fc.tuple(fc.nat(), fc.nat(), fc.array(mutationArb, { minLength: 1, maxLength: 3 }), fc.boolean(), fc.constantFrom('any', 'pub', 'body', 'body'))
    await fc.assert(fc.asyncProperty(arb, async ([which, boxPick, muts, deepest, region]) => {
      const seed = seeds[which % seeds.length]!
      // Mutate one leaf box's payload (never the fhdr: that only tests the magic check again).
      const candidates = seed.boxes.map((b, i) => i).filter((i) => i > 0 && !['ckpt', 'tail', 'indx'].includes(seed.boxes[i]!.header.type))
      const target = candidates[boxPick % candidates.length]!
      const boxes = seed.boxes.map((b) => Buffer.from(b.bytes))
      const orig = boxes[target]!
      let payload: Buffer = mutate(orig.subarray(HEADER_LEN), muts)
      const isData = !['fhdr', 'sess'].includes(seed.boxes[target]!.header.type)
      if (isData && region !== 'any') {
        // Mutate only the public metadata or only the body, and keep the prefix lengths consistent, so that
        // the box reaches the JSON, AEAD, codec and inner-payload decoders.
        const p0 = orig.subarray(HEADER_LEN)
        const pubLen = p0.readUInt32BE(4)
        const prefix = Buffer.from(p0.subarray(0, 32))
        let pub: Buffer = p0.subarray(32, 32 + pubLen)
        let body: Buffer = p0.subarray(32 + pubLen)
        if (region === 'pub') pub = mutate(pub, muts)
        else body = mutate(body, muts)
        prefix.writeUInt32BE(pub.length, 4)
        prefix.writeBigUInt64BE(BigInt(body.length), 24)
        payload = Buffer.concat([prefix, pub, body])
      }
      // A fresh header with the new size (the forger then fixes its seq, prev and CRC in place).
      boxes[target] = Buffer.concat([encodeHeader({ ...seed.boxes[target]!.header, size: HEADER_LEN + payload.length }), payload])
      let input: Buffer
      try {
        input = await rebuild(boxes, { signer: keys.keyring.signer, fixCounters: deepest })
      } catch {
        input = Buffer.concat(boxes)
      }
      const r = await verifyBytes(file, input, seed.opts)
      const p = resultProblems(r)
      if (!r.ok) codes.set(r.errors[0]!.code, (codes.get(r.errors[0]!.code) ?? 0) + 1)
      return p.length === 0 || (t.comment(JSON.stringify({ seed: seed.name, type: orig.toString('latin1', 4, 8), p })), false)
    }), { numRuns: 400, seed: SEED + 2 })
    t.comment(`first error codes: ${JSON.stringify(Object.fromEntries(codes))}`)
    // The mutations must actually get past the chain into the decoders for this property to mean anything.
    for (const code of ['MAIF_ERR_PAYLOAD', 'MAIF_ERR_DECRYPT', 'MAIF_ERR_CODEC'] as const) t.ok((codes.get(code) ?? 0) > 0, `${code} reached`)
  })

  await t.test('scanBoxes over garbage only throws MaifError', async (t) => {
    const arb = fc.tuple(
      fc.oneof(
        fc.uint8Array({ minLength: 0, maxLength: 600 }).map((b) => Buffer.from(b)),
        fc.array(mutationArb, { minLength: 1, maxLength: 4 }).map((m) => mutate(c.bytes, m)),
      ),
      fc.integer({ min: 1, max: 9000 }),
    )
    const foreign: string[] = []
    await fc.assert(fc.asyncProperty(arb, async ([input, chunkBytes]) => {
      try {
        for await (const b of scanBoxes(memHandle(input), input.length, { chunkBytes })) {
          if (b.bytes.length !== b.header.size || b.offset + b.header.size > input.length) throw new Error('scanBoxes yielded a box outside the input')
        }
      } catch (err) {
        if (!(err instanceof MaifError)) {
          foreign.push(String(err))
          return false
        }
      }
      return true
    }), { numRuns: 500, seed: SEED + 3 })
    t.same(foreign, [], 'no foreign exception')
  })

  await t.test('scanBoxes finds the same boxes whatever its chunk size', async (t) => {
    const want = parseBoxes(c.bytes).map((b) => b.offset)
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: c.bytes.length + 10 }), async (chunkBytes) => {
      const got: number[] = []
      for await (const b of scanBoxes(memHandle(c.bytes), c.bytes.length, { chunkBytes })) {
        if (!b.bytes.equals(c.bytes.subarray(b.offset, b.offset + b.header.size))) return false
        got.push(b.offset)
      }
      return JSON.stringify(got) === JSON.stringify(want)
    }), { numRuns: 200, seed: SEED + 4 })
    t.pass('every chunk size yields the same boxes')
  })
})
