// Every single-bit flip anywhere in a container must be detected by verify, with a specific error code
// (never MAIF_ERR_IO, never a wrapped crash) reported at the box that was changed or the box right after it.
import t, { type Test } from 'tap'
import { join } from 'node:path'
import type { ErrorCode } from '../src/core/errors.js'
import { DATA_PREFIX_LEN, HEADER_LEN } from '../src/core/format/format.js'
import { verifyContainer, type VerifyOptions, type VerifyResult } from '../src/core/container/verify.js'
import {
  buildTwoSessions, flipBit, forEachLimited, makeKeys, parseBoxes, removeDir, scratchDir, verifyBytes, WRAPPED_FOREIGN,
  type ParsedBox,
} from './helpers/container.js'

// Codes a flip can produce when only signatures are checked (pinned key, no decryption).
const PINNED_CODES = new Set<ErrorCode>([
  'MAIF_ERR_HEADER_CRC', 'MAIF_ERR_VERSION' /* fhdr formatVer / suite */, 'MAIF_ERR_CHAIN', 'MAIF_ERR_CHECKPOINT', 'MAIF_ERR_SIGNATURE', 'MAIF_ERR_SIGNER_UNTRUSTED',
  'MAIF_ERR_TAIL', 'MAIF_ERR_PAYLOAD', 'MAIF_ERR_INDEX', 'MAIF_ERR_COUNTER',
])
// With a key provider, crypto checks can fire first; and a flipped plainLen that declares more than the reader
// accepts is refused before anything is allocated or decrypted for it.
const KEYED_CODES = new Set<ErrorCode>([
  ...PINNED_CODES, 'MAIF_ERR_DECRYPT', 'MAIF_ERR_KEY_UNAVAILABLE', 'MAIF_ERR_KEY_COMMITMENT', 'MAIF_ERR_CODEC', 'MAIF_ERR_BOX_TOO_LARGE',
])

interface Outcome { offset: number; result: VerifyResult }

const boxAt = (boxes: ParsedBox[], off: number): { box: ParsedBox; next: ParsedBox | undefined } => {
  const i = boxes.findIndex((b) => off >= b.offset && off < b.offset + b.header.size)
  return { box: boxes[i]!, next: boxes[i + 1] }
}

t.test('a one-bit flip at every offset is detected', async (t) => {
  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const keys = await makeKeys(join(dir, 'keys'))
  const c = await buildTwoSessions(join(dir, 'c.maif'), keys)
  const boxes = parseBoxes(c.bytes)
  const size = c.bytes.length
  t.equal(c.sessionEnds.length, 2)
  t.equal(boxes.filter((b) => b.header.type === 'sess').length, 2, 'the fixture has two sessions')
  t.equal(boxes.filter((b) => b.header.type === 'JSON').length, 6, 'the fixture has 4 + 2 data boxes')

  const pinnedOnly: VerifyOptions = { pinned: [keys.pub] }
  const keyed: VerifyOptions = { pinned: [keys.pub], keyProvider: keys.keyring }
  const base = await verifyContainer(c.path, pinnedOnly)
  t.ok(base.ok, 'the untouched container verifies (pinned)')
  t.same(base.errors, [])
  const baseKeyed = await verifyContainer(c.path, keyed)
  t.ok(baseKeyed.ok, 'the untouched container verifies (pinned + key)')

  const flipAll = async (opts: VerifyOptions, offsets: number[]): Promise<Outcome[]> => {
    const out: Outcome[] = new Array(offsets.length)
    await forEachLimited(offsets.length, 1, async (i, slot) => {
      const offset = offsets[i]!
      out[i] = { offset, result: await verifyBytes(join(dir, `slot${slot}.maif`), flipBit(c.bytes, offset), opts) }
    })
    return out
  }

  // Checks shared by both passes; returns the code histogram. Problems are collected, then asserted once, so
  // that a regression names every offending offset without printing thousands of assertions.
  const check = (t: Test, outcomes: Outcome[], allowed: Set<ErrorCode>): Map<string, number> => {
    const histogram = new Map<string, number>()
    const undetected: number[] = []
    const badCode: Array<{ offset: number; code: string }> = []
    const crashed: Array<{ offset: number; message: string }> = []
    const misplaced: Array<{ offset: number; code: string; reported: number; box: string }> = []
    const noOffset = new Map<string, number[]>()
    const headerNotCrc: Array<{ offset: number; code: string }> = []
    for (const { offset, result } of outcomes) {
      if (result.ok || result.errors.length === 0) {
        undetected.push(offset)
        continue
      }
      const e = result.errors[0]!
      histogram.set(e.code, (histogram.get(e.code) ?? 0) + 1)
      if (e.code === 'MAIF_ERR_IO' || !allowed.has(e.code)) badCode.push({ offset, code: e.code })
      if (e.message.startsWith(WRAPPED_FOREIGN)) crashed.push({ offset, message: e.message })
      const { box, next } = boxAt(boxes, offset)
      // The error names the changed box, or the next box (whose `prev` no longer matches).
      if (e.offset === undefined) noOffset.set(e.code, [...(noOffset.get(e.code) ?? []), offset])
      else if (e.offset !== box.offset && e.offset !== next?.offset) misplaced.push({ offset, code: e.code, reported: e.offset, box: box.header.type })
      // CRC-32 catches every single-bit error, and verify checks the header CRC before anything else.
      if (offset - box.offset < HEADER_LEN && e.code !== 'MAIF_ERR_HEADER_CRC') headerNotCrc.push({ offset, code: e.code })
    }
    t.same(undetected, [], 'no flip verifies as ok')
    t.same(badCode, [], 'every flip is reported with an expected, specific code')
    t.same(crashed, [], 'no flip makes verify crash (a non-MaifError wrapped as PAYLOAD)')
    t.same(misplaced, [], 'every error is reported at the flipped box or the one after it')
    const missing = [...noOffset].map(([code, offs]) => ({ code, flips: offs.length, firstFlippedOffset: offs[0] }))
    t.same(missing, [], 'every error says at which offset it was found')
    t.same(headerNotCrc, [], 'every header flip is MAIF_ERR_HEADER_CRC')
    return histogram
  }

  await t.test('pinned key only, every offset', async (t) => {
    const t0 = performance.now()
    const outcomes = await flipAll(pinnedOnly, Array.from({ length: size }, (_, i) => i))
    const ms = performance.now() - t0
    t.equal(outcomes.length, size)
    const hist = check(t, outcomes, PINNED_CODES)
    t.comment(`${size} flips in ${ms.toFixed(0)} ms; codes: ${JSON.stringify(Object.fromEntries(hist))}`)
    // Flips in leaf payloads mostly surface as a broken chain; flips in checkpoints as signature/payload errors.
    for (const code of ['MAIF_ERR_HEADER_CRC', 'MAIF_ERR_CHAIN', 'MAIF_ERR_SIGNATURE', 'MAIF_ERR_TAIL'] as const) {
      t.ok((hist.get(code) ?? 0) > 0, `${code} occurs`)
    }
    // Ciphertext flips: without a key the box is only hash-linked, so the next box reports the chain break.
    const body = outcomes.filter(({ offset }) => {
      const { box } = boxAt(boxes, offset)
      if (box.header.type !== 'JSON') return false
      const pubLen = box.bytes.readUInt32BE(HEADER_LEN + 4)
      return offset - box.offset >= HEADER_LEN + DATA_PREFIX_LEN + pubLen
    })
    t.ok(body.length > 100, 'many flips land in ciphertext')
    t.same(body.filter((o) => o.result.errors[0]?.code !== 'MAIF_ERR_CHAIN').map((o) => o.offset), [], 'ciphertext flips break the chain')
  })

  await t.test('pinned key and key provider, every 7th offset and every payload byte of the first sess and data box', async (t) => {
    const s1 = [boxes.find((b) => b.header.type === 'sess')!, boxes.find((b) => b.header.type === 'JSON')!]
    const chosen = new Set<number>()
    for (let i = 0; i < size; i += 7) chosen.add(i)
    for (const b of s1) for (let i = b.offset + HEADER_LEN; i < b.offset + b.header.size; i++) chosen.add(i)
    const offsets = [...chosen].sort((a, b) => a - b)
    const t0 = performance.now()
    const outcomes = await flipAll(keyed, offsets)
    const ms = performance.now() - t0
    const hist = check(t, outcomes, KEYED_CODES)
    t.comment(`${offsets.length} flips in ${ms.toFixed(0)} ms; codes: ${JSON.stringify(Object.fromEntries(hist))}`)
    t.ok((hist.get('MAIF_ERR_DECRYPT') ?? 0) > 0, 'MAIF_ERR_DECRYPT occurs')
    t.ok((hist.get('MAIF_ERR_KEY_UNAVAILABLE') ?? 0) > 0, 'MAIF_ERR_KEY_UNAVAILABLE occurs (wrapped key flipped)')
    // With the key, a ciphertext or tag flip is caught by AES-GCM at the changed box itself.
    const wrong: number[] = []
    let n = 0
    for (const { offset, result } of outcomes) {
      const { box } = boxAt(boxes, offset)
      if (box.header.type !== 'JSON') continue
      const pubLen = box.bytes.readUInt32BE(HEADER_LEN + 4)
      if (offset - box.offset < HEADER_LEN + DATA_PREFIX_LEN + pubLen) continue
      n++
      const e = result.errors[0]
      if (e?.code !== 'MAIF_ERR_DECRYPT' || e.offset !== box.offset) wrong.push(offset)
    }
    t.ok(n > 100, `many keyed flips land in ciphertext (${n})`)
    t.same(wrong, [], 'every ciphertext flip is MAIF_ERR_DECRYPT at its own box')
  })
})
