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
