// Argument parsing shared by the commands: strict node:util parseArgs, usage errors with the usage text of
// the command that was called, and the per-command usage printed by `maif COMMAND --help`.
import { parseArgs } from 'node:util'
import { once } from 'node:events'
import { MaifError } from '../core/errors.js'

const KEYRING_NOTE = 'A keyring comes from --keyring, else the pipeline, else the MAIF_KEYRING environment variable; a passphrase-protected one reads its passphrase from the file MAIF_KEYRING_PASSPHRASE_FILE names, else MAIF_KEYRING_PASSPHRASE.'

/** One entry per command: its synopsis (first line) and what each flag means. */
export const COMMAND_USAGE: Record<string, string> = {
  keygen: `usage: maif keygen --out DIR [--alg ecdsa-p256|ed25519|rsa-pss-3072] [--force] [--passphrase-file FILE [--previous-passphrase-file FILE] [--reseal]]
Creates a keyring: DIR/maif.key (secret, mode 0600) and DIR/maif.pub (the public key to pin).
  --out DIR        where to write the keyring
  --alg ALG        signature algorithm (default ecdsa-p256)
  --force          overwrite an existing keyring
  --passphrase-file FILE
                   seal maif.key under the passphrase in FILE (PBKDF2-HMAC-SHA-256, 600,000 iterations;
                   AES-256-GCM). It must meet the STIG policy: 15+ characters, upper, lower, digit, special,
                   no run of more than 3. Without the flag, MAIF_KEYRING_PASSPHRASE_FILE or
                   MAIF_KEYRING_PASSPHRASE is used when set. Every command then needs the passphrase to
                   load the keyring, from the same environment variables
  --previous-passphrase-file FILE
                   rotating: the new passphrase must differ from this one in at least 8 characters
  --reseal         rotate the passphrase of the keyring in DIR: the same keys sealed under the new passphrase
                   (--previous-passphrase-file opens the old one; a keyring without one is protected first)`,
  pubkey: `usage: maif pubkey --kms-key-id ID -o FILE [--force]
Writes the public key of an asymmetric AWS KMS signing key (ECC_NIST_P256 or RSA_3072) as PEM, the format of
maif.pub, so that 'maif verify --pub FILE' pins checkpoints signed in KMS (pack --kms-sign-key-id).
  --kms-key-id ID  key id, ARN or alias (region and endpoint: AWS_REGION, AWS_ENDPOINT_URL_KMS)
  -o, --out FILE   where to write it
  --force          overwrite FILE`,
  pack: `usage: maif pack INPUT... -o OUT.maif|s3://BUCKET/KEY.maif [--keyring DIR] [--format jsonl|text|binary] [--codec zstd|gzip|brotli|none]
       [--block-records N] [--checkpoint-blocks N] [--plaintext] [--allow-new-signer] [--allow-plaintext-append]
       [--kms-key-id ID]... [--kms-sign-key-id ID] [--force]
Packs files into a container (appends a new writer session when OUT exists). One writer at a time: the
container is locked (OUT.lock) while pack runs.
  -o, --out FILE              the container to create or append to; an s3:// URL is written as one complete
                              object (uploaded once the container is complete; never appended to)
  INPUT                       files, directories, globs; or one s3://BUCKET/KEY object or s3://BUCKET/PREFIX/
  --keyring DIR               signing key and data keys
  --format FMT                jsonl (default), text or binary
  --codec CODEC               zstd (default), gzip, brotli or none
  --block-records N           records per block
  --checkpoint-blocks N       blocks per signed checkpoint
  --plaintext                 write the session without encryption (recorded in the container)
  --allow-new-signer          append although OUT was last signed by another key (readers must pin both)
  --allow-plaintext-append    append a --plaintext session although OUT has encrypted sessions
  --kms-key-id ID             take the session data key from AWS KMS (GenerateDataKey) instead of the keyring;
                              repeat it to wrap the same data key under further keys
  --kms-sign-key-id ID        sign checkpoints with this asymmetric KMS key instead of the keyring's key
                              (with both, no keyring is needed; see maif pubkey)
  --force                     replace an existing s3:// output object
${KEYRING_NOTE}`,
  inspect: `usage: maif inspect FILE|s3://BUCKET/KEY [--json]
Describes a container without a key: sessions, blocks, checkpoints, and what could not be parsed.
  --json           one JSON object on stdout`,
  verify: `usage: maif verify FILE|s3://BUCKET/KEY|s3://BUCKET/PREFIX/ [--pub FILE]... [--keyring DIR] [--witness FILE] [--json] [--max-box BYTES] [--embeddings] [--concurrency N]
Verifies every box, the hash chain, the Merkle tree, every checkpoint signature and the tail. With an s3://
prefix (ending in '/'), verifies every .maif object under it in parallel, one line per object and a summary;
exit 1 if any fails.
  --pub FILE         a public key to pin (repeatable; a container with several signers needs each pinned)
  --keyring DIR      also pin its key, and decrypt and authenticate every block
  --witness FILE     an earlier verify --json output the container must still extend
  --embeddings       also check that every embedding (EMBD block) matches the records it embeds (needs the
                     keyring of an encrypted container)
  --json             the result as one JSON object (usable as a witness)
  --max-box BYTES    accept data boxes (and declared plaintexts) up to this size (default 4M + 64K, the
                     writer's segment size; K, M, G suffixes)
  --concurrency N    with an s3:// prefix: objects verified at once (default 4)
${KEYRING_NOTE}`,
  cat: `usage: maif cat FILE|s3://BUCKET/KEY [--keyring DIR] [--pub FILE]... [--type TYPE] [--seq N [--json]] [--jsonl] [--dedupe [--dedupe-field F]] [--grant FILE] [--window BYTES] [--max-box BYTES]
Prints the data of blocks, each only after the signed checkpoint that covers it has verified against a pinned
key: blocks are held until then (at most --window bytes), and a block no valid checkpoint covers is never printed.
  --keyring DIR      decrypts, and pins its signing key (sessions whose keys AWS KMS wrapped decrypt without it)
  --pub FILE         pin another signer's public key too (repeatable; for containers with several signers)
  --type TYPE        only blocks of this type (FourCC, e.g. JSON)
  --seq N            one block, by random access (checked against the last signed checkpoint); an s3:// object
                     is read with ranged GETs guided by its tail and index, never downloaded whole
  --json             with --seq: the block as one JSON object, with io { requests, bytesFetched, size }
  --jsonl            only JSON and TEXT blocks, one record per line
  --dedupe           JSON records with Kafka coordinates (the kafka source's metadataField) print once: a copy
                     that at-least-once delivery wrote again (offset not above its partition's highest) is left out
  --dedupe-field F   the field holding { topic, partition, offset } (default _kafka)
  --grant FILE       read as this grant ({ user, clearance, compartments?, expires? }): blocks whose
                     classification label it does not cover are withheld, audited (MAIF_AUDIT_LOG), and
                     the command exits 1 with MAIF_ERR_ACCESS_DENIED
  --window BYTES     most bytes of blocks held while waiting for their checkpoint (default 64M; K, M, G suffixes)
  --max-box BYTES    accept data boxes (and declared plaintexts) up to this size (default 4M + 64K)
${KEYRING_NOTE}`,
  recover: `usage: maif recover FILE [--dry-run] [--json] [--salvage OUT] [--pub FILE]... [--keyring DIR]
Cuts a torn tail: the boxes after the last commit that verifies, when no valid commit follows them. It first
saves the bytes it cuts to FILE.recovery-<offset>.bin and records them in FILE.recovery.jsonl (if it cannot,
it cuts nothing). Damage before a valid commit is refused (exit 1) with a report: recover never deletes
committed data.
  --dry-run          report what would be done, change nothing
  --json             the report as one JSON object
  --salvage OUT      write what still verifies (the committed prefix before any damage) to the new file OUT;
                     FILE is not changed
  --pub FILE         check checkpoint signatures against this key (repeatable)
  --keyring DIR      check them against this keyring's key`,
  run: `usage: maif run PIPELINE [--keyring DIR] [--set key=value]... [--json] [--progress|--no-progress] [--metrics-port N] [--log-level LEVEL]
Runs a pipeline definition (YAML, JSON or TypeScript).
  --keyring DIR        the keyring of the pipeline's container sinks
  --set key=value      override a field of the definition (e.g. transforms.1.level=19)
  --json               the run report as JSON
  --progress           force the progress bar; --no-progress turns it off
  --metrics-port N     serve Prometheus metrics on this port
  --log-level LEVEL    pino log level (default info)
${KEYRING_NOTE}`,
  lint: `usage: maif lint PIPELINE... [--json]
Checks pipeline definitions; each issue is printed as file:line:column with a hint. Exit 1 on errors.
  --json           the issues as a JSON array`,
  validate: `usage: maif validate PIPELINE [--keyring DIR] [--set key=value]...
lint, plus the environment: keyring readable, inputs present, outputs writable. Exit 78 on failure.
  --keyring DIR        the keyring to check
  --set key=value      override a field of the definition
${KEYRING_NOTE}`,
  search: `usage: maif search FILE|DIR... QUERY [-k N] [--keyring DIR] [--pub FILE]... [--filter key=value]... [--model ID] [--model-dir DIR] [--ef N] [--rebuild] [--json]
Finds the records nearest to QUERY by the embeddings an 'embed-index' transform wrote. The container is
verified first (a container that does not verify is not searched), every embedding is checked against the
record it names. The HNSW index stored by 'maif index' is loaded when it matches (and extended with later
embeddings); otherwise it is built in memory.
  -k N               hits to return (default 10)
  --keyring DIR      decrypts, and pins its signing key
  --pub FILE         pin another signer's public key too (repeatable)
  --filter k=v       only records of blocks with this type (JSON, TEXT), agent or label, or with records
                     since=/until= a time (ISO 8601 or Unix ms); repeatable, all must hold
  --model ID         the embedding model to search when a container holds several
  --model-dir DIR    the ONNX model directory that made the embeddings, to embed the query (refused if
                     its model.onnx or tokenizer.json differ from the embeddings' model); Bedrock models
                     use the AWS SDK's environment (AWS_REGION, AWS_ENDPOINT_URL_BEDROCK_RUNTIME, credentials)
  --ef N             HNSW search candidate list (default 128; larger finds more true neighbours, slower)
  --rebuild          build the index from the embeddings, ignoring a stored one
  --json             { hits: [{ seq, record, score, text }], indexed, model, metric } (with file when several)
${KEYRING_NOTE}`,
  index: `usage: maif index FILE [--keyring DIR] [--pub FILE]... [--rebuild] [--allow-new-signer] [--json]
Builds the vector index of the container's embeddings and appends it to the container (an XVIX block in a
signed session of its own), so that 'maif search' loads it instead of building it. A stored index is checked
against the embeddings before it and extended with those after it; --rebuild ignores it.
  --keyring DIR        decrypts, signs the new session, and pins its signing key
  --pub FILE           pin another signer's public key too (repeatable)
  --rebuild            build the index from the embeddings, ignoring a stored one
  --allow-new-signer   append although the container was last signed by another key
  --json               the result as one JSON object
${KEYRING_NOTE}`,
  schema: `usage: maif schema
Prints the JSON Schema of pipeline definitions (for editor completion).`,
  compliance: `usage: maif compliance check [FILE] [--fips] [--json] [--keyring DIR]
Reports the crypto module (Node's OpenSSL version, FIPS mode) and the algorithms a pipeline definition or a
container uses, each APPROVED / NOT APPROVED / CONDITIONAL with its standard (FIPS 140-3 terms).
  --fips             a gate: exit 1 unless FIPS mode is active and every security function is approved
                     (also when the pipeline sets security.fips: true)
  --json             the report as one JSON object
  --keyring DIR      the keyring whose signing key decides a pipeline's signature algorithm
       maif compliance report --framework fisma|stig|hipaa|pci-dss FILE [--keyring DIR] [--pub FILE]... [--audit-log LOG]... [--json]
Verifies the container and maps what it and its audit trail show to the framework's controls (AU-2, AU-3,
AU-9, AU-10, SI-7, SC-13, SC-28, AC-3, AC-16, …): each MET or NOT MET with its evidence, or CANNOT ASSESS with
why (retention, review, key custody and the running system are outside what a container shows). No control
is met without evidence. Exit 0 when no control is not met, 1 when one is (or the container fails to
verify), 2 on a usage or I/O error.
  --framework F      fisma (NIST SP 800-53 rev. 5), stig, hipaa or pci-dss (v4.0)
  --keyring DIR      decrypts and authenticates every block and the audit blocks, and pins its signing key
  --pub FILE         pin a signer's public key (repeatable; without a pinned key AU-10 cannot be assessed)
  --audit-log LOG    also read this JSONL audit log (MAIF_AUDIT_LOG of verify/cat/recover): its access.denied
                     events show access enforcement (AC-3); repeatable`,
  audit: `usage: maif audit FILE [--keyring DIR] [--pub FILE]... [--json] [--since TIME] [--action ACTION]
Lists and verifies an audit trail: the AUDT blocks of a container (released only after the signed checkpoint
covering them verifies) or a JSONL audit log. Checks each log's sequence and hash chain. Exit 1 on any failure.
  --keyring DIR      decrypts the audit blocks, and pins its signing key
  --pub FILE         pin another signer's public key (repeatable)
  --json             the result as one JSON object (events, chain report, container result)
  --since TIME       only events at or after TIME (ISO 8601, or 30m, 24h, 7d back from now)
  --action ACTION    only this action, or a prefix ending in * (container.*)
${KEYRING_NOTE}`,
}

/** The overview: one synopsis per command. */
export function overview(): string {
  const lines = Object.values(COMMAND_USAGE).map((u) => {
    const synopsis = u.split('\n').filter((l, i) => i === 0 || /^ {7}\S/.test(l))
    return synopsis.map((l, i) => (i === 0 ? '  ' + l.replace(/^usage: maif /, '') : '  ' + l.slice(1))).join('\n')
  })
  return `usage: maif <command> [options]\n${lines.join('\n')}\n'maif COMMAND --help' describes a command's flags. ${KEYRING_NOTE}`
}

export const USAGE = overview()

let current: string | undefined

/** The command being run: its usage is what a usage error shows. */
export function setCommand(cmd: string): void {
  current = cmd
}

/** The usage text of a command, or undefined for an unknown one. */
export function commandUsage(cmd: string): string | undefined {
  return Object.hasOwn(COMMAND_USAGE, cmd) ? COMMAND_USAGE[cmd] : undefined
}

/** True when the arguments ask for help (before a `--` terminator). */
export function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false
    if (a === '--help' || a === '-h') return true
  }
  return false
}

export function usage(msg: string): never {
  throw new MaifError('MAIF_ERR_USAGE', `${msg}\n${(current && commandUsage(current)) ?? USAGE}`)
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

/** A byte count: digits with an optional K, M or G suffix (powers of 1024), e.g. 65536, 64K, 256M. */
export function bytesOpt(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined
  const m = typeof v === 'string' ? /^([0-9]+)([KMG]?)(i?B)?$/i.exec(v.trim()) : null
  const n = m ? Number(m[1]) * 1024 ** ' KMG'.indexOf((m[2] || ' ').toUpperCase()) : NaN
  if (!Number.isSafeInteger(n) || n < 1) usage(`--${name} must be a positive number of bytes (e.g. 65536, 64K, 256M, 1G)`)
  return n
}

export function strOpt(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined
}

export async function writeOut(out: NodeJS.WritableStream, data: Buffer | string): Promise<void> {
  if (!out.write(data)) await once(out, 'drain')
}
