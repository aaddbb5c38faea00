// Helpers for the pipeline-engine tests: keyrings, reading a container back (verified and decrypted),
// and reading JSONL files (dead letters, file outputs).
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateKeyring, loadKeyring, type LocalKeyring } from '../../src/core/format/keyring.js'
import { verifyContainer, type OpenedBlock, type VerifyResult } from '../../src/core/container/verify.js'
import type { DeadLetter } from '../../src/core/runtime/types.js'

export const REPO = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '')
export const repoPath = (p: string): string => join(REPO, p)

/** A fresh keyring in DIR/keys (generated with generateKeyring), loaded. */
export async function freshKeyring(dir: string, name = 'keys'): Promise<{ dir: string; keyring: LocalKeyring }> {
  const kdir = join(dir, name)
  await generateKeyring(kdir)
  return { dir: kdir, keyring: await loadKeyring(kdir) }
}

export interface ReadBack {
  result: VerifyResult
  blocks: OpenedBlock[]
  /** The concatenated data of every block, as text. */
  text: string
  /** The records: the lines of `text` (each block's data ends with a newline). */
  lines: string[]
  bytes: Buffer
}

/** Verifies a container pinned to the keyring's signing key and decrypts every block. */
export async function readContainer(path: string, keyring: LocalKeyring): Promise<ReadBack> {
  const blocks: OpenedBlock[] = []
  const result = await verifyContainer(path, { keyProvider: keyring, pinned: [keyring.signer.publicKey], onBlock: (b) => { blocks.push(b) } })
  const bytes = Buffer.concat(blocks.map((b) => b.data))
  const text = bytes.toString('utf8')
  return { result, blocks, text, lines: splitLines(text), bytes }
}

/** Lines of a text that ends with a newline (an empty text has no lines). */
export function splitLines(text: string): string[] {
  if (text === '') return []
  const parts = text.split('\n')
  if (parts[parts.length - 1] === '') parts.pop()
  return parts
}

export type DeadLetterEntry = DeadLetter & { time: string }

/** The entries of a dead-letter file; none when the file does not exist (the engine creates it lazily). */
export function readDeadLetters(path: string): DeadLetterEntry[] {
  if (!existsSync(path)) return []
  return splitLines(readFileSync(path, 'utf8')).map((l) => JSON.parse(l) as DeadLetterEntry)
}

/** The lines of a JSONL file that parse as JSON (what the engine accepts from it), in order. */
export function validJsonLines(path: string): string[] {
  return splitLines(readFileSync(path, 'utf8')).filter((l) => {
    if (l.length === 0 || l === '\r') return false
    try {
      JSON.parse(l)
      return true
    } catch {
      return false
    }
  })
}

/** Settles a promise into its error (or undefined when it resolved). */
export async function errorOf(p: Promise<unknown>): Promise<(Error & { code?: string; issues?: unknown[] }) | undefined> {
  try {
    await p
    return undefined
  } catch (err) {
    return err as Error & { code?: string }
  }
}
