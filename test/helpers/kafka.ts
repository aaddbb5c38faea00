// A real Kafka wire-protocol broker for one test: librdkafka's mock cluster, hosted by the C fixture
// test/fixtures/kafka/mock-broker.c. The fixture is compiled on demand with gcc into a git-ignored cache
// (node_modules/.cache/maif/, keyed by the source's hash, so an edited fixture is rebuilt), started per test
// or test file with the topics it needs (the mock has no CreateTopics), and stopped at teardown. A machine
// without gcc or librdkafka-dev fails the test with the command that installs them: it never skips.
import { execFile, spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { Test } from 'tap'
import { generateKeyring } from '../../src/core/format/keyring.js'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '../..')
const SOURCE = join(root, 'test/fixtures/kafka/mock-broker.c')
const CACHE = join(root, 'node_modules/.cache/maif')
const INSTALL = 'apt-get install -y gcc libc6-dev librdkafka-dev'

export interface KafkaBroker {
  /** Bootstrap list, e.g. "127.0.0.1:41235". */
  bootstrap: string
  brokers: string[]
  /** Environment for a child process (a pipeline's ${KAFKA_BROKERS}). */
  env: Record<string, string>
  pid: number
  stop(): Promise<void>
}

let built: Promise<string> | undefined

/** The compiled fixture's path, building it once per process (and once per source version on disk). */
export function mockBrokerBinary(): Promise<string> {
  built ??= (async () => {
    const src = readFileSync(SOURCE)
    const bin = join(CACHE, `mock-broker-${createHash('sha256').update(src).digest('hex').slice(0, 16)}`)
    if (existsSync(bin)) return bin
    mkdirSync(CACHE, { recursive: true })
    // Parallel test files may build at once: each writes its own file and renames it into place.
    const tmp = `${bin}.${process.pid}.${randomBytes(4).toString('hex')}`
    try {
      await promisify(execFile)('gcc', ['-O2', '-Wall', SOURCE, '-lrdkafka', '-o', tmp])
    } catch (err) {
      const e = err as { code?: string; stderr?: string; message: string }
      const why = e.code === 'ENOENT' ? 'gcc is not installed' : (e.stderr || e.message).trim()
      throw new Error(`cannot build the Kafka test broker (${SOURCE}): ${why}\nInstall the compiler and librdkafka with: ${INSTALL}`)
    }
    renameSync(tmp, bin)
    return bin
  })()
  built.catch(() => { built = undefined })
  return built
}

/** A fresh name for a topic or group, so that tests never share state on a broker. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`
}

/**
 * Starts a mock cluster with `topics` (name → partition count). With `t`, it stops at teardown.
 */
export async function startKafka(t: Test | undefined, topics: Record<string, number>, opts: { brokers?: number } = {}): Promise<KafkaBroker> {
  const bin = await mockBrokerBinary()
  const args = [...(opts.brokers ? ['--brokers', String(opts.brokers)] : []), ...Object.entries(topics).map(([n, p]) => `${n}:${p}`)]
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let err = ''
  child.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000) })
  const bootstrap = await new Promise<string>((resolveAddr, reject) => {
    let out = ''
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`the Kafka test broker printed no address within 10 s: ${err}`)) }, 10_000)
    child.once('error', (e) => { clearTimeout(timer); reject(new Error(`cannot run ${bin}: ${e.message}\nInstall with: ${INSTALL}`)) })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the Kafka test broker exited with code ${code}: ${err.trim()}\nIt needs: ${INSTALL}`)) })
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const nl = out.indexOf('\n')
      if (nl >= 0) { clearTimeout(timer); child.removeAllListeners('exit'); resolveAddr(out.slice(0, nl).trim()) }
    })
  })
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    await new Promise<void>((done) => { child.once('exit', () => done()); child.kill('SIGTERM') })
  }
  t?.teardown(stop)
  return { bootstrap, brokers: bootstrap.split(','), env: { KAFKA_BROKERS: bootstrap }, pid: child.pid!, stop }
}

/** kafkajs settings that suit the mock cluster (see /work/shared/components.md): short, bounded rebalances. */
export const consumerTimings = { sessionTimeout: 3000, rebalanceTimeout: 3000, heartbeatInterval: 400, maxWaitTimeInMs: 100 } as const

/** Sends messages (acks -1) and disconnects. */
export async function produce(broker: KafkaBroker, topic: string, messages: Array<{ key?: string; value: string | Buffer | null; partition?: number; headers?: Record<string, string> }>): Promise<void> {
  const { Kafka, logLevel } = await import('kafkajs')
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'
  const producer = new Kafka({ clientId: 'test-producer', brokers: broker.brokers, logLevel: logLevel.NOTHING }).producer()
  await producer.connect()
  try {
    for (let i = 0; i < messages.length; i += 1000) await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 1000) })
  } finally {
    await producer.disconnect()
  }
}

/** The group's committed offset per partition (-1: none), and each partition's high watermark. */
export async function offsets(broker: KafkaBroker, groupId: string, topic: string): Promise<{ committed: Map<number, number>; high: Map<number, number> }> {
  const { Kafka, logLevel } = await import('kafkajs')
  const admin = new Kafka({ clientId: 'test-admin', brokers: broker.brokers, logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    const [g] = await admin.fetchOffsets({ groupId, topics: [topic] })
    const t = await admin.fetchTopicOffsets(topic)
    return {
      committed: new Map(g!.partitions.map((p) => [p.partition, Number(p.offset)])),
      high: new Map(t.map((p) => [p.partition, Number(p.high)])),
    }
  } finally {
    await admin.disconnect()
  }
}

export interface KafkaRecordRef { i: number; partition: number; offset: number }

/**
 * Every record of a Kafka worker's container (the verified prefix, after `maif recover` when it was killed),
 * as the test event number and the Kafka coordinates the source recorded (metadataField `_kafka`).
 */
export async function containerRecords(path: string, keyringDir: string): Promise<KafkaRecordRef[]> {
  const { loadKeyring } = await import('../../src/core/format/keyring.js')
  const { verifyContainer } = await import('../../src/core/container/verify.js')
  const kr = await loadKeyring(keyringDir)
  const out: KafkaRecordRef[] = []
  const r = await verifyContainer(path, {
    keyProvider: kr, pinned: [kr.signer.publicKey],
    onBlock: (b) => {
      for (const line of b.data.toString('utf8').split('\n')) {
        if (!line) continue
        const rec = JSON.parse(line) as { i: number; _kafka: { partition: number; offset: string } }
        out.push({ i: rec.i, partition: rec._kafka.partition, offset: Number(rec._kafka.offset) })
      }
    },
  })
  if (!r.ok) throw new Error(`${path} does not verify: ${JSON.stringify(r.errors)}`)
  return out
}

/** Offsets below `committed` that the container lacks, per partition: must be none (commit after durability). */
export function committedButMissing(records: readonly KafkaRecordRef[], committed: ReadonlyMap<number, number>): string[] {
  const have = new Set(records.map((r) => `${r.partition}:${r.offset}`))
  const missing: string[] = []
  for (const [p, c] of committed) for (let o = 0; o < c; o++) if (!have.has(`${p}:${o}`)) missing.push(`${p}:${o}`)
  return missing
}

export interface Worker {
  child: import('node:child_process').ChildProcess
  /** The end of what it has written to stderr so far (for a timeout's message). */
  stderrTail: () => string
  /** Resolves when it exits: code, signal, and what it printed. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>
}

/** `maif run PIPELINE --json` as a real child process (the built CLI in dist/); killed at teardown if still running. */
export function startWorker(t: Test, pipeline: string, env: Record<string, string>): Worker {
  const { NODE_OPTIONS: _drop, ...base } = process.env
  const cli = join(root, 'dist/cli.js')
  const child = spawn(process.execPath, [cli, 'run', pipeline, '--json', '--no-progress', '--log-level', 'warn'], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  const worker = { child, stderrTail: () => stderr.slice(-3000) } as Worker
  child.stdout!.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((done) => {
    child.on('close', (code, signal) => done({ code, signal, stdout, stderr }))
  })
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) { child.kill('SIGKILL'); await exited }
  })
  worker.exited = exited
  return worker
}

/** Polls `check` every 100 ms until it returns true; fails after `ms` with `what`. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, ms = 60_000, context?: () => string): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${context ? `\n${context()}` : ''}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** What a worker test needs: a topic and group of its own on a fresh broker, a keyring, and the worker env. */
export interface WorkerSetup { topic: string; group: string; broker: KafkaBroker; keys: string; outDir: string; env: Record<string, string> }

export async function workerSetup(t: Test, partitions: number): Promise<WorkerSetup> {
  const topic = uniqueName('agent-events')
  const group = uniqueName('workers')
  const broker = await startKafka(t, { [topic]: partitions })
  const dir = t.testdir()
  const keys = join(dir, 'keys')
  await generateKeyring(keys)
  const outDir = join(dir, 'out')
  return { topic, group, broker, keys, outDir, env: { ...broker.env, TOPIC: topic, GROUP: group, KEYS: keys, OUT_DIR: outDir } }
}
