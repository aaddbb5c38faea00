#!/usr/bin/env node
// The maif command line. Exit codes: 0 success, 1 verification or integrity failure, 2 usage or I/O error.
import { parseArgs } from 'node:util'
import { readFile } from 'node:fs/promises'
import { once } from 'node:events'
import { MaifError, wrapError, type ErrorCode } from './core/errors.js'
import { generateKeyring, loadKeyring, loadPublicKey, type LocalKeyring } from './core/keyring.js'
import { requireFips, SIGNATURE_ALGS, type SignatureAlg } from './core/signing.js'
import { verifyContainer, type VerifyResult } from './core/verify.js'
import { recoverContainer } from './core/recover.js'
import { ContainerReader } from './core/reader.js'
import { inspectContainer } from './core/inspect.js'
import type { FileFormat } from './sources/file.js'
import { CODECS, type Codec } from './core/format.js'
import { WorkerPool } from './core/worker-pool.js'
import type { KeyObject } from 'node:crypto'
import type { PipelineDefinition } from './core/pipeline-schema.js'

// The pipeline engine (zod, yaml, pino, ajv, …) loads only for the commands that run pipelines, so
// verify, cat and inspect start fast.
const engine = () => import('./core/engine.js')
const defs = () => import('./core/pipeline-def.js')
const schema = () => import('./core/pipeline-schema.js')
const obs = () => import('./core/observability.js')

const USAGE = `usage: maif <command> [options]
  keygen --out DIR [--alg ecdsa-p256|ed25519|rsa-pss-3072] [--force]
  pack INPUT... -o OUT.maif [--keyring DIR] [--format jsonl|text|binary] [--codec zstd|gzip|brotli|none]
       [--block-records N] [--checkpoint-blocks N] [--plaintext]
  inspect FILE [--json]
  verify FILE [--pub FILE]... [--keyring DIR] [--witness FILE] [--json]
  cat FILE --keyring DIR [--type TYPE] [--seq N] [--jsonl]
  recover FILE [--dry-run] [--json]
  run PIPELINE [--set key=value]... [--json] [--progress|--no-progress] [--metrics-port N] [--log-level LEVEL]
  lint PIPELINE... [--json]
  validate PIPELINE [--set key=value]...
  schema`

const USAGE_CODES = new Set<ErrorCode>(['MAIF_ERR_USAGE', 'MAIF_ERR_INVALID_OPTION', 'MAIF_ERR_IO', 'MAIF_ERR_KEYRING', 'MAIF_ERR_KEY_UNAVAILABLE', 'MAIF_ERR_PIPELINE_DEF', 'MAIF_ERR_ENV', 'MAIF_ERR_FIPS'])

function usage(msg: string): never {
  throw new MaifError('MAIF_ERR_USAGE', `${msg}\n${USAGE}`)
}

type Values = Record<string, string | boolean | Array<string | boolean> | undefined>

function parse(args: string[], options: NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>): { values: Values; positionals: string[] } {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true }) as { values: Values; positionals: string[] }
  } catch (err) {
    return usage((err as Error).message)
  }
}

function intOpt(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1) usage(`--${name} must be a positive integer`)
  return n
}

async function keyringFrom(dir: unknown): Promise<LocalKeyring | undefined> {
  const d = typeof dir === 'string' ? dir : process.env.MAIF_KEYRING
  return d ? loadKeyring(d) : undefined
}

async function writeOut(out: NodeJS.WritableStream, data: Buffer | string): Promise<void> {
  if (!out.write(data)) await once(out, 'drain')
}

async function cmdKeygen(args: string[]): Promise<number> {
  const { values } = parse(args, { out: { type: 'string' }, alg: { type: 'string' }, force: { type: 'boolean' } })
  if (!values.out) usage('keygen needs --out DIR')
  const alg = (values.alg ?? 'ecdsa-p256') as SignatureAlg
  if (!(alg in SIGNATURE_ALGS)) usage(`--alg must be one of ${Object.keys(SIGNATURE_ALGS).join(', ')}`)
  const r = await generateKeyring(values.out as string, { alg, force: values.force === true })
  process.stdout.write(`wrote ${r.keyFile} (secret, mode 0600) and ${r.pubFile}\nsigner key id ${r.keyId}\n`)
  return 0
}

/** `maif pack` is a built-in pipeline: the same engine and stages as `maif run`, defined from its flags. */
export function packPipeline(inputs: string[], o: { out: string; keyring: string; format: FileFormat; codec: Codec; blockRecords?: number; checkpointBlocks?: number; plaintext: boolean }): PipelineDefinition {
  return {
    name: 'pack',
    source: { type: 'file', paths: inputs, format: o.format },
    transforms: [
      { type: 'frame', ...(o.blockRecords ? { blockRecords: o.blockRecords } : {}) },
      { type: 'compress', codec: o.codec },
      ...(o.plaintext ? [] : [{ type: 'encrypt' as const }]),
      { type: 'chain', ...(o.checkpointBlocks ? { checkpointEvery: { blocks: o.checkpointBlocks } } : {}) },
      { type: 'sign' },
    ],
    sink: { type: 'container', path: o.out },
    deadLetter: { type: 'file', path: `${o.out}.rejected.jsonl` },
    security: { keyring: o.keyring, requireEncryption: !o.plaintext },
  }
}

async function cmdPack(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    out: { type: 'string', short: 'o' }, keyring: { type: 'string' }, format: { type: 'string' }, codec: { type: 'string' },
    'block-records': { type: 'string' }, 'checkpoint-blocks': { type: 'string' }, plaintext: { type: 'boolean' },
  })
  if (positionals.length === 0) usage('pack needs at least one INPUT file')
  if (!values.out) usage('pack needs -o OUT.maif')
  const format = (values.format ?? 'jsonl') as FileFormat
  if (!['jsonl', 'text', 'binary'].includes(format)) usage('--format must be jsonl, text or binary')
  const codec = (values.codec ?? 'zstd') as Codec
  if (!(codec in CODECS)) usage('--codec must be zstd, gzip, brotli or none')
  const keyring = typeof values.keyring === 'string' ? values.keyring : process.env.MAIF_KEYRING
  if (!keyring) usage('pack needs --keyring DIR (or MAIF_KEYRING) for its signing key; create one with maif keygen')
  const out = values.out as string
  const blockRecords = intOpt(values['block-records'], 'block-records')
  const checkpointBlocks = intOpt(values['checkpoint-blocks'], 'checkpoint-blocks')
  const def = packPipeline(positionals, {
    out, keyring: keyring as string, format, codec, plaintext: values.plaintext === true,
    ...(blockRecords ? { blockRecords } : {}), ...(checkpointBlocks ? { checkpointBlocks } : {}),
  })
  const { runPipeline } = await engine()
  const r = await runPipeline(def)
  const c = r.outputs[0]!
  process.stdout.write(
    `packed ${r.delivered} record(s) from ${r.files} file(s) into ${out}: ${c.records} records in ${c.commits} commit(s)` +
    ` (${(r.bytes / 1e6 / Math.max(r.durationMs / 1000, 1e-3)).toFixed(1)} MB/s)\n` +
    (format === 'binary' ? '' : `lines read ${r.recordsIn} = packed ${r.delivered} + rejected ${r.deadLetters}\n`) +
    (r.deadLetters ? `rejected lines written to ${r.deadLetterFile}\n` : ''),
  )
  return r.reconciled ? 0 : 1
}

async function pinnedKeys(pubs: unknown, keyring: LocalKeyring | undefined): Promise<KeyObject[]> {
  const keys: KeyObject[] = []
  for (const p of (Array.isArray(pubs) ? pubs : []) as string[]) keys.push(await loadPublicKey(p))
  if (keyring) keys.push(keyring.signer.publicKey)
  return keys
}

async function cmdVerify(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { pub: { type: 'string', multiple: true }, keyring: { type: 'string' }, witness: { type: 'string' }, json: { type: 'boolean' } })
  if (positionals.length !== 1) usage('verify takes one FILE')
  const keyring = typeof values.keyring === 'string' ? await loadKeyring(values.keyring) : undefined
  const pinned = await pinnedKeys(values.pub, keyring)
  let witness
  if (typeof values.witness === 'string') {
    try {
      const w = JSON.parse(await readFile(values.witness, 'utf8')) as { treeSize: number; root: string }
      if (!Number.isInteger(w.treeSize) || typeof w.root !== 'string') throw new Error('needs treeSize and root')
      witness = { treeSize: w.treeSize, root: Buffer.from(w.root, 'base64') }
    } catch (cause) {
      throw wrapError('MAIF_ERR_USAGE', `--witness ${values.witness} is not a verify --json output`, cause)
    }
  }
  const pool = keyring ? undefined : new WorkerPool()
  let r: VerifyResult
  try {
    r = await verifyContainer(positionals[0]!, { pinned, ...(keyring ? { keyProvider: keyring } : {}), ...(witness ? { witness } : {}), ...(pool ? { pool } : {}) })
  } finally {
    await pool?.close()
  }
  if (values.json) process.stdout.write(JSON.stringify(r) + '\n')
  else {
    const signer = r.signers.map((s) => `${s.keyId.slice(0, 16)}… (${s.alg}, ${s.pinned ? 'pinned' : 'UNPINNED'})`).join(', ') || 'none'
    process.stdout.write(
      `${r.ok ? 'OK' : 'FAILED'} ${positionals[0]}: ${r.blocks} blocks, ${r.records} records, ${r.sessions} sessions, ${r.checkpoints} checkpoints, tree size ${r.treeSize}\n` +
      `root ${r.root ?? '-'}\nsigner ${signer}${r.decrypted ? '\nevery block decrypted and authenticated' : ''}\n` +
      r.errors.map((e) => `error ${e.code} at offset ${e.offset ?? '-'} seq ${e.seq ?? '-'}: ${e.message}\n`).join('') +
      r.warnings.map((w) => `warning: ${w}\n`).join(''),
    )
  }
  return r.ok ? 0 : 1
}

async function cmdCat(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { keyring: { type: 'string' }, type: { type: 'string' }, seq: { type: 'string' }, jsonl: { type: 'boolean' } })
  if (positionals.length !== 1) usage('cat takes one FILE')
  const keyring = await keyringFrom(values.keyring)
  if (!keyring) usage('cat needs --keyring DIR to decrypt')
  const out = process.stdout
  const wanted = (type: string): boolean => (values.type === undefined || values.type === type) && (!values.jsonl || type === 'JSON' || type === 'TEXT')
  if (values.seq !== undefined) {
    const seq = Number(values.seq)
    if (!Number.isInteger(seq) || seq < 0) usage('--seq must be a non-negative integer')
    const reader = await ContainerReader.open(positionals[0]!, { keyProvider: keyring, pinned: [keyring.signer.publicKey] })
    try {
      const b = await reader.readBlock(seq)
      if (wanted(b.type)) await writeOut(out, b.data)
    } finally {
      await reader.close()
    }
    return 0
  }
  const r = await verifyContainer(positionals[0]!, {
    keyProvider: keyring, pinned: [keyring.signer.publicKey],
    onBlock: async (b) => { if (wanted(b.type)) await writeOut(out, b.data) },
  })
  if (!r.ok) {
    for (const e of r.errors) process.stderr.write(`maif: ${e.code}: ${e.message}\n`)
    return 1
  }
  return 0
}

async function cmdInspect(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } })
  if (positionals.length !== 1) usage('inspect takes one FILE')
  const info = await inspectContainer(positionals[0]!)
  if (values.json) process.stdout.write(JSON.stringify(info) + '\n')
  else {
    const lines = [
      `container ${info.containerId} (MAIF v${info.formatVersion}), created ${new Date(info.createdMs).toISOString()}, ${info.size} bytes`,
      `sessions:`,
      ...info.sessions.map((s) => `  #${s.seq} @${s.offset} ${s.sessionId} ${s.encryption} signer ${s.signerKeyId.slice(0, 16)}… (${s.signerAlg}) by ${s.writer} at ${new Date(s.createdMs).toISOString()}`),
      `blocks:`,
      `  ${'seq'.padStart(6)} ${'type'.padEnd(4)} ${'offset'.padStart(12)} ${'size'.padStart(10)} codec   enc  records label`,
      ...info.blocks.map((b) => `  ${String(b.seq).padStart(6)} ${b.type.padEnd(4)} ${String(b.offset).padStart(12)} ${String(b.size).padStart(10)} ${b.codec.padEnd(7)} ${b.encrypted ? 'yes' : 'no '}  ${String(b.records ?? '-').padStart(7)} ${b.label ?? ''}`),
      `checkpoints:`,
      ...info.checkpoints.map((c) => `  @${c.offset} tree ${c.treeSize} root ${c.root} ${new Date(c.timeMs).toISOString()} key ${c.keyId.slice(0, 16)}…`),
      info.torn ? `torn: ${info.torn}` : `tail ok`,
    ]
    process.stdout.write(lines.join('\n') + '\n')
  }
  return 0
}

async function cmdRecover(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { 'dry-run': { type: 'boolean' }, json: { type: 'boolean' } })
  if (positionals.length !== 1) usage('recover takes one FILE')
  const r = await recoverContainer(positionals[0]!, { dryRun: values['dry-run'] === true })
  if (values.json) process.stdout.write(JSON.stringify(r) + '\n')
  else if (r.droppedBytes === 0) process.stdout.write(`${r.path} is clean: ${r.treeSize} boxes committed, nothing to recover\n`)
  else {
    process.stdout.write(
      `${values['dry-run'] ? 'would cut' : 'cut'} ${r.droppedBytes} bytes (${r.droppedBoxes} uncommitted box(es)) from offset ${r.keptBytes}; ` +
      `${r.treeSize} committed boxes kept\nreason: ${r.reason}\n${r.logFile ? `recorded in ${r.logFile}\n` : ''}`,
    )
  }
  return 0
}

async function cmdRun(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    set: { type: 'string', multiple: true }, json: { type: 'boolean' }, progress: { type: 'boolean' }, 'no-progress': { type: 'boolean' },
    'metrics-port': { type: 'string' }, 'log-level': { type: 'string' },
  })
  if (positionals.length !== 1) usage('run takes one PIPELINE file')
  const [{ builtinStages, runPipeline }, { loadPipelineFile, parseSetArgs }, { resolveSinks }, { createLogger, RunMetrics, startProgress, startPrometheus }] = await Promise.all([engine(), defs(), schema(), obs()])
  const loaded = await loadPipelineFile(positionals[0]!, { set: parseSetArgs((values.set ?? []) as string[]), knownStages: builtinStages.names() })
  const logger = createLogger({ level: typeof values['log-level'] === 'string' ? values['log-level'] : 'info' })
  for (const w of loaded.warnings) logger.warn({ rule: w.rule, line: w.line }, w.message)
  const def = loaded.definition
  const metrics = new RunMetrics(def.name ?? 'pipeline', def.labels)
  const stop = new AbortController()
  const abort = new AbortController()
  let signals = 0
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++
    if (signals === 1) {
      logger.warn({ signal: sig }, 'stopping: finishing the current batches and writing a final checkpoint (send again to abort)')
      stop.abort()
    } else {
      logger.error({ signal: sig }, 'aborting')
      abort.abort()
      process.exit(130)
    }
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const tty = values['no-progress'] ? false : values.progress === true || process.stderr.isTTY === true
  const progress = startProgress(metrics, { logger, tty, ...(tty ? { stream: process.stderr } : {}) })
  const prom = typeof values['metrics-port'] === 'string' ? await startPrometheus(metrics, { port: intOpt(values['metrics-port'], 'metrics-port') ?? 0 }) : null
  if (prom) logger.info({ url: prom.url }, 'metrics endpoint')
  try {
    const report = await runPipeline(def, {
      registry: builtinStages.with(loaded.stages), stop: stop.signal, signal: abort.signal, logger, metrics,
      cwd: process.cwd(),
    })
    progress.stop()
    // A pipeline that writes its records to stdout gets its report on stderr.
    const out = resolveSinks(def).outputs.some((o) => o.type === 'stdout') ? process.stderr : process.stdout
    if (values.json) out.write(JSON.stringify(report) + '\n')
    else {
      out.write(
        `${report.status} ${report.pipeline}: records in ${report.recordsIn} = delivered ${report.delivered} + dead letters ${report.deadLetters}` +
        `${report.dropped ? ` + dropped ${report.dropped}` : ''} (${report.reconciled ? 'reconciled' : 'NOT RECONCILED'}) in ${(report.durationMs / 1000).toFixed(2)} s\n` +
        report.outputs.map((o) => `  ${o.type}${o.path ? ` ${o.path}` : ''}: ${o.records} records${o.type === 'container' ? `, ${o.commits} commits` : ''}\n`).join('') +
        (report.deadLetterFile ? `  dead letters: ${report.deadLetterFile}\n` : '') + (report.cursor ? `  cursor: ${report.cursor}\n` : ''),
      )
    }
    return report.reconciled ? 0 : 1
  } finally {
    progress.stop()
    await prom?.close()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

async function cmdLint(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } })
  if (positionals.length === 0) usage('lint takes one or more PIPELINE files')
  const [{ builtinStages }, { formatIssue, lintPipelineFile }] = await Promise.all([engine(), defs()])
  let errors = 0
  const all = []
  for (const file of positionals) {
    const issues = await lintPipelineFile(file, { knownStages: builtinStages.names() })
    errors += issues.filter((i) => i.severity === 'error').length
    all.push(...issues)
    if (!values.json) for (const i of issues) process.stdout.write(formatIssue(i) + '\n')
  }
  if (values.json) process.stdout.write(JSON.stringify(all) + '\n')
  else if (errors === 0) process.stdout.write(`${positionals.length} pipeline(s) OK\n`)
  return errors === 0 ? 0 : 1
}

/** lint, plus the environment: keyring readable, outputs writable, inputs present. Exit 78 (EX_CONFIG) on failure. */
async function cmdValidate(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { set: { type: 'string', multiple: true } })
  if (positionals.length !== 1) usage('validate takes one PIPELINE file')
  const [{ builtinStages, checkEnvironment }, { loadPipelineFile, parseSetArgs }] = await Promise.all([engine(), defs()])
  const problems: string[] = []
  try {
    const loaded = await loadPipelineFile(positionals[0]!, { set: parseSetArgs((values.set ?? []) as string[]), knownStages: builtinStages.names() })
    problems.push(...(await checkEnvironment(loaded.definition, builtinStages.with(loaded.stages))))
  } catch (err) {
    problems.push(err instanceof MaifError ? `${err.code}: ${err.message}` : String(err))
  }
  for (const p of problems) process.stdout.write(`error: ${p}\n`)
  if (problems.length === 0) process.stdout.write(`${positionals[0]} is valid and its environment is ready\n`)
  return problems.length === 0 ? 0 : 78
}

async function cmdSchema(): Promise<number> {
  const { pipelineJsonSchema } = await schema()
  process.stdout.write(JSON.stringify(pipelineJsonSchema(), null, 2) + '\n')
  return 0
}

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  keygen: cmdKeygen, pack: cmdPack, inspect: cmdInspect, verify: cmdVerify, cat: cmdCat, recover: cmdRecover,
  run: cmdRun, lint: cmdLint, validate: cmdValidate, schema: cmdSchema,
}

// `maif cat … | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0)
  throw err
})

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(USAGE + '\n')
    return cmd === undefined ? 2 : 0
  }
  const run = COMMANDS[cmd]
  try {
    if (!run) usage(`unknown command '${cmd}'`)
    if (process.env.MAIF_FIPS === '1') requireFips()
    return await run(rest)
  } catch (err) {
    const e = err instanceof MaifError ? err : wrapError('MAIF_ERR_IO', 'unexpected failure', err)
    process.stderr.write(`maif ${cmd}: ${e.code}: ${e.message}\n`)
    return USAGE_CODES.has(e.code) ? 2 : 1
  }
}

process.exitCode = await main(process.argv.slice(2))
// For memory tests and benchmarks: the peak RSS of this process, on stderr, when asked.
if (process.env.MAIF_PRINT_MAXRSS) process.stderr.write(`maif: maxrss_kib=${process.resourceUsage().maxRSS}\n`)
