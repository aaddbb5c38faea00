// Shared fixtures for the tamper / fuzz / round-trip tests: keyrings, small containers, an in-memory box
// parser (independent of scanBoxes, so the tests can locate boxes without trusting the code under test
// to walk the file), and "verify these bytes" helpers.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { KeyObject } from 'node:crypto'
import { generateKeyring, loadKeyring, loadPublicKey, type LocalKeyring } from '../../src/core/format/keyring.js'
import { writeContainer, type ContainerWriterOptions } from '../../src/core/container/writer.js'
import { verifyContainer, type VerifyOptions, type VerifyResult } from '../../src/core/container/verify.js'
import { decodeHeader, HEADER_LEN, type BoxHeader } from '../../src/core/format/format.js'
import type { SignatureAlg } from '../../src/core/format/signing.js'

export interface TestKeys {
  dir: string
  keyring: LocalKeyring
  pub: KeyObject
}

export async function makeKeys(dir: string, alg: SignatureAlg = 'ecdsa-p256'): Promise<TestKeys> {
  await generateKeyring(dir, { alg })
  return { dir, keyring: await loadKeyring(dir), pub: await loadPublicKey(join(dir, 'maif.pub')) }
}

/** A private scratch directory under os.tmpdir(); remove it with `rm(dir, { recursive: true })`. */
export async function scratchDir(prefix = 'maif-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix))
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
}

export function jsonRecords(n: number, from = 0): Array<Record<string, unknown>> {
  return Array.from({ length: n }, (_, k) => ({ i: from + k, msg: `record ${from + k}`, ok: (from + k) % 2 === 0 }))
}

/** Write options that produce exactly one commit per writeContainer call (no time-based commits). */
export function writeOpts(keys: TestKeys, extra: Partial<ContainerWriterOptions> = {}): ContainerWriterOptions {
  return {
    keyProvider: keys.keyring,
    signer: keys.keyring.signer,
    framer: { blockRecords: 5 },
    checkpointEvery: { ms: 0 },
    fsync: 'never',
    ...extra,
  }
}

export interface TwoSessionContainer {
  path: string
  bytes: Buffer
  /** File length after each session (= end offset of that session's tail), in order. */
  sessionEnds: number[]
}

/** Session 1: 20 JSON records (4 blocks of 5); session 2 (append): 7 more (2 blocks). Encrypted. */
export async function buildTwoSessions(path: string, keys: TestKeys, extra: Partial<ContainerWriterOptions> = {}): Promise<TwoSessionContainer> {
  const sessionEnds: number[] = []
  await writeContainer(path, jsonRecords(20), writeOpts(keys, extra))
  sessionEnds.push((await stat(path)).size)
  await writeContainer(path, jsonRecords(7, 20), writeOpts(keys, extra))
  sessionEnds.push((await stat(path)).size)
  return { path, bytes: await readFile(path), sessionEnds }
}

export interface ParsedBox {
  offset: number
  header: BoxHeader
  bytes: Buffer
}

/** Splits a well-formed container into its boxes (throws on a malformed one). */
export function parseBoxes(buf: Buffer): ParsedBox[] {
  const out: ParsedBox[] = []
  let pos = 0
  while (pos < buf.length) {
    const header = decodeHeader(buf.subarray(pos, pos + HEADER_LEN), pos, buf.length - pos)
    out.push({ offset: pos, header, bytes: buf.subarray(pos, pos + header.size) })
    pos += header.size
  }
  return out
}

/** Writes `bytes` to `file` and verifies it. */
export async function verifyBytes(file: string, bytes: Uint8Array, opts: VerifyOptions = {}): Promise<VerifyResult> {
  await writeFile(file, bytes)
  return verifyContainer(file, opts)
}

/** Runs `fn(i)` for i in [0, n) with at most `width` in flight; each worker gets its own slot index. */
export async function forEachLimited(n: number, width: number, fn: (i: number, slot: number) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async (slot: number): Promise<void> => {
    for (;;) {
      const i = next++
      if (i >= n) return
      await fn(i, slot)
    }
  }
  await Promise.all(Array.from({ length: Math.min(width, n) }, (_, slot) => worker(slot)))
}

export function flipBit(buf: Buffer, offset: number, mask = 0x01): Buffer {
  const c = Buffer.from(buf)
  c[offset] = c[offset]! ^ mask
  return c
}

/** Message prefix verify.ts uses when it wraps an exception that was not a MaifError (an unexpected crash). */
export const WRAPPED_FOREIGN = 'the container is malformed'
