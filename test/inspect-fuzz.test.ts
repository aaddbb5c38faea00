// `maif inspect` is total: over any input it prints a description (and what it could not parse) and never
// fails with an exception that is not a MaifError ("unexpected failure: Invalid time value").
import t from 'tap'
import fc from 'fast-check'
import { join } from 'node:path'
import { readFile, writeFile } from 'node:fs/promises'
import { ErrorCodes, MaifError } from '../src/core/errors.js'
import { encodeHeader, encodeSession, HEADER_LEN } from '../src/core/format/format.js'
import { inspectContainer } from '../src/core/container/inspect.js'
import { writeContainer } from '../src/core/container/writer.js'
import { buildTwoSessions, jsonRecords, makeKeys, parseBoxes, removeDir, scratchDir, writeOpts } from './helpers/container.js'
import { maif } from './helpers/cli.js'
import { mutate, mutationArb } from './helpers/mutations.js'

const SEED = Number(process.env.MAIF_FUZZ_SEED ?? 20240611)

/** Replaces box i of a parsed container with a new payload (fresh header of the new size; chain not repaired). */
function withPayload(boxes: Buffer[], i: number, payload: Buffer): Buffer {
  const h = parseBoxes(boxes[i]!)[0]!.header
  const out = boxes.slice()
  out[i] = Buffer.concat([encodeHeader({ ...h, size: HEADER_LEN + payload.length }), payload])
  return Buffer.concat(out)
}

t.test('inspect is total', async (t) => {
  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const keys = await makeKeys(join(dir, 'keys'))
  const c = await buildTwoSessions(join(dir, 'c.maif'), keys)
  const plainPath = join(dir, 'plain.maif')
  await writeContainer(plainPath, jsonRecords(9), writeOpts(keys, { encryption: 'none', codec: 'gzip', framer: { blockRecords: 3 } }))
  const plain = await readFile(plainPath)
  const boxes = parseBoxes(c.bytes).map((b) => b.bytes)

  await t.test('hand-made hostile fields through the CLI: exit 0, the bad fields are reported', async (t) => {
    // fhdr createdMs (payload bytes 28..35) = 2^64-1: not a representable date.
    const hugeTime = Buffer.from(c.bytes)
    hugeTime.fill(0xff, HEADER_LEN + 28, HEADER_LEN + 36)
    // A session box whose JSON has the right shape for the decoder but wrong types for every other field.
    const sessIdx = 1
    const oddSession = withPayload(boxes, sessIdx, encodeSession(Buffer.alloc(16, 7), {
      createdMs: 'yesterday', encryption: 'none', signer: { alg: 7, keyId: 12345, publicKey: null }, writer: { who: 'me' },
    } as unknown as Parameters<typeof encodeSession>[1]))
    // A checkpoint note whose time has 16 digits: a valid decimal for the decoder, beyond the range of Date.
    const ckIdx = boxes.findIndex((b) => b.toString('latin1', 4, 8) === 'ckpt')
    const ck = boxes[ckIdx]!.subarray(HEADER_LEN)
    const noteLen = ck.readUInt32BE(4)
    const note = ck.subarray(8, 8 + noteLen).toString('utf8').split('\n')
    note[6] = '9'.repeat(16)
    const newNote = Buffer.from(note.join('\n'), 'utf8')
    const head = Buffer.from(ck.subarray(0, 8))
    head.writeUInt32BE(newNote.length, 4)
    const farCheckpoint = withPayload(boxes, ckIdx, Buffer.concat([head, newNote, ck.subarray(8 + noteLen)]))
    // A data box whose public metadata is not JSON (the box after it is still described).
    const dataIdx = boxes.findIndex((b) => b.toString('latin1', 4, 8) === 'JSON')
    const dp = Buffer.from(boxes[dataIdx]!.subarray(HEADER_LEN))
    dp.write('}', 32, 'latin1')
    const badPub = withPayload(boxes, dataIdx, dp)

    for (const [name, bytes, expect] of [
      ['file header time out of range', hugeTime, /invalid time/],
      ['session fields of the wrong types', oddSession, /sessions:/],
      ['checkpoint time out of range', farCheckpoint, /invalid time/],
      ['public metadata that is not JSON', badPub, /MAIF_ERR_PAYLOAD/],
    ] as const) {
      const f = join(dir, `${name.replace(/\W+/g, '-')}.maif`)
      await writeFile(f, bytes)
      for (const json of [false, true]) {
        const r = await maif(['inspect', f, ...(json ? ['--json'] : [])])
        t.equal(r.code, 0, `${name}${json ? ' (--json)' : ''}: exit 0 (${r.stderr.trim()})`)
        t.notMatch(r.stderr, /unexpected failure/, `${name}: no unexpected failure`)
        if (json) {
          const info = JSON.parse(r.stdout) as { blocks: unknown[]; problems: Array<{ code: string; offset: number }> }
          t.ok(Array.isArray(info.problems), `${name}: --json lists problems`)
        } else t.match(r.stdout, expect, `${name}: described`)
      }
    }
    const r = await maif(['inspect', join(dir, 'public-metadata-that-is-not-JSON.maif'), '--json'])
    const info = JSON.parse(r.stdout) as { blocks: Array<{ seq: number }>; problems: Array<{ code: string; offset: number }> }
    t.same(info.problems.map((p) => [p.code, p.offset]), [['MAIF_ERR_PAYLOAD', parseBoxes(c.bytes)[dataIdx]!.offset]], 'the unparsable box is reported at its offset')
    t.equal(info.blocks.length, 5, 'and the other data boxes are still described')
  })

  await t.test('property: random mutations and random bytes never escape as a foreign exception', async (t) => {
    const { formatInspect } = await import('../src/cli/inspect.js')
    const file = join(dir, 'fuzz.maif')
    const seeds = [c.bytes, plain]
    const arb = fc.oneof(
      fc.tuple(fc.nat(), fc.array(mutationArb, { minLength: 1, maxLength: 4 })).map(([i, m]) => mutate(seeds[i % seeds.length]!, m)),
      fc.tuple(fc.boolean(), fc.uint8Array({ minLength: 0, maxLength: 1200 })).map(([h, b]) => (h ? Buffer.concat([c.bytes.subarray(0, 100), b]) : Buffer.from(b))),
    )
    const bad: string[] = []
    let withProblems = 0
    let torn = 0
    await fc.assert(fc.asyncProperty(arb, async (input) => {
      await writeFile(file, input)
      try {
        const info = await inspectContainer(file)
        JSON.stringify(info)
        const text = formatInspect(info)
        if (typeof text !== 'string' || text.length === 0) throw new Error('empty description')
        for (const p of info.problems) if (!(p.code in ErrorCodes)) throw new Error(`unknown code ${p.code}`)
        if (info.problems.length > 0) withProblems++
        if (info.torn !== null) torn++
      } catch (err) {
        if (!(err instanceof MaifError) || err.code !== 'MAIF_ERR_IO') {
          bad.push(`${err instanceof MaifError ? err.code : String(err)}: ${input.length} bytes`)
          return false
        }
      }
      return true
    }), { numRuns: 600, seed: SEED + 10 })
    t.same(bad, [], 'inspect and its formatter never throw')
    // The inputs must reach the payload decoders, not only the header checks, for the property to mean anything.
    t.ok(withProblems > 20, `payload problems were reported and the scan went on (${withProblems} of 600 inputs)`)
    t.ok(torn > 100, `torn files were described (${torn} of 600 inputs)`)
  })

  await t.test('property through the CLI: a few dozen mutated files, each exit 0 with no unexpected failure', async (t) => {
    const samples = fc.sample(fc.array(mutationArb, { minLength: 1, maxLength: 3 }), { numRuns: 24, seed: SEED + 11 })
    const results = await Promise.all(samples.map(async (m, i) => {
      const f = join(dir, `cli-${i}.maif`)
      await writeFile(f, mutate(i % 2 ? plain : c.bytes, m))
      return maif(['inspect', f])
    }))
    for (const [i, r] of results.entries()) {
      t.equal(r.code, 0, `sample ${i}: exit 0 (${r.stderr.trim()})`)
      t.notMatch(r.stderr, /unexpected failure/)
    }
  })
})
