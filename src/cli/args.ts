// Argument parsing shared by the commands: strict node:util parseArgs, usage errors with the usage text.
import { parseArgs } from 'node:util'
import { once } from 'node:events'
import { MaifError } from '../core/errors.js'

export const USAGE = `usage: maif <command> [options]
  keygen --out DIR [--alg ecdsa-p256|ed25519|rsa-pss-3072] [--force]
  pack INPUT... -o OUT.maif [--keyring DIR] [--format jsonl|text|binary] [--codec zstd|gzip|brotli|none]
       [--block-records N] [--checkpoint-blocks N] [--plaintext]
  inspect FILE [--json]
  verify FILE [--pub FILE]... [--keyring DIR] [--witness FILE] [--json]
  cat FILE [--keyring DIR] [--type TYPE] [--seq N] [--jsonl]
  recover FILE [--dry-run] [--json]
  run PIPELINE [--keyring DIR] [--set key=value]... [--json] [--progress|--no-progress] [--metrics-port N] [--log-level LEVEL]
  lint PIPELINE... [--json] [--verbose]
  validate PIPELINE [--keyring DIR] [--set key=value]...
  schema
A keyring comes from --keyring, else the pipeline, else the MAIF_KEYRING environment variable.`

export function usage(msg: string): never {
  throw new MaifError('MAIF_ERR_USAGE', `${msg}\n${USAGE}`)
}

export type Values = Record<string, string | boolean | Array<string | boolean> | undefined>
export type OptionSpec = NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>

export function parse(args: string[], options: OptionSpec): { values: Values; positionals: string[] } {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true }) as { values: Values; positionals: string[] }
  } catch (err) {
    return usage((err as Error).message)
  }
}

export function intOpt(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1) usage(`--${name} must be a positive integer`)
  return n
}

export function strOpt(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined
}

export async function writeOut(out: NodeJS.WritableStream, data: Buffer | string): Promise<void> {
  if (!out.write(data)) await once(out, 'drain')
}
