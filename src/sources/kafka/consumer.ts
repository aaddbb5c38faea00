// The Kafka consumer behind the source: one kafkajs consumer-group member, feeding a bounded queue that the
// engine drains. eachBatch turns a partition batch into one envelope and waits for room in the queue
// (backpressure), heartbeating while it waits, so slow stages never cost the group membership. Offsets are
// resolved (kafkajs's fetch position) when a batch enters the pipeline and committed only when the engine
// reports them durable in every output (`commit`); kafkajs's auto-commit is off.
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs'
import type { Logger } from 'pino'
import { wrapError } from '../../core/errors.js'
import type { PartitionCounters, RunMetrics } from '../../core/runtime/observability.js'
import type { AckProgress, Batch, DeadLetterInput } from '../../core/runtime/types.js'
import { decodeBatch, type KafkaFormat, type KafkaToken } from './decode.js'

export interface ConsumerOptions {
  groupId: string
  topics: Array<string | RegExp>
  fromBeginning: boolean
  format: KafkaFormat
  metaField?: string | undefined
  sessionTimeout?: number | undefined
  rebalanceTimeout?: number | undefined
  heartbeatInterval?: number | undefined
  maxWaitTimeInMs?: number | undefined
  maxBytesPerPartition?: number | undefined
  /** Envelopes held between kafkajs and the engine. */
  queue: number
  /** Commit durable offsets at most this often (ms; 0: as soon as they are durable). */
  commitIntervalMs: number
}


const MAX_CRASHES = 10

const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`

export class KafkaReader {
  readonly #kafka: Kafka
  readonly #o: ConsumerOptions
  readonly #log: Logger | undefined
  readonly #stop: AbortSignal
  readonly #deadLetter: (d: DeadLetterInput) => void
  #consumer: Consumer | null = null
  readonly #queue: Batch[] = []
  #wakeItem: (() => void) | null = null
  #wakeRoom: Array<() => void> = []
  #failed: unknown
  /** Per partition: the next offset not yet handed to the pipeline by this process (skips re-fetches). */
  readonly #readMark = new Map<string, bigint>()
  /** Per partition: the next offset durable in every output, and the last one committed to the group. */
  readonly #durable = new Map<string, { topic: string; partition: number; next: bigint }>()
  readonly #committed = new Map<string, bigint>()
  /** Partitions this member holds in the current generation (offsets are committed only for these). */
  #owned = new Set<string>()
  /** Per partition: how many times this member was newly assigned it (tokens of an older epoch are not committed). */
  readonly #epoch = new Map<string, number>()
  #commits: Promise<void> = Promise.resolve()
  readonly stats = { records: 0, bytes: 0 }
  #crashes = 0
  /** When offsets were last committed (ms), for commitIntervalMs. */
  #lastCommitAt = 0
  #retryTimer: NodeJS.Timeout | undefined

  readonly #partition: (key: string) => PartitionCounters

  constructor(kafka: Kafka, o: ConsumerOptions, stop: AbortSignal, deadLetter: (d: DeadLetterInput) => void, log: Logger | undefined, metrics: RunMetrics) {
    // Metrics name a partition "topic/partition".
    this.#partition = (key) => metrics.partition(key.replace('\u0000', '/'))
    this.#kafka = kafka
    this.#o = o
    this.#stop = stop
    this.#deadLetter = deadLetter
    this.#log = log
  }

  async start(): Promise<void> {
    const o = this.#o
    const consumer = this.#kafka.consumer({
      groupId: o.groupId,
      ...(o.sessionTimeout === undefined ? {} : { sessionTimeout: o.sessionTimeout }),
      ...(o.rebalanceTimeout === undefined ? {} : { rebalanceTimeout: o.rebalanceTimeout }),
      ...(o.heartbeatInterval === undefined ? {} : { heartbeatInterval: o.heartbeatInterval }),
      ...(o.maxWaitTimeInMs === undefined ? {} : { maxWaitTimeInMs: o.maxWaitTimeInMs }),
      ...(o.maxBytesPerPartition === undefined ? {} : { maxBytesPerPartition: o.maxBytesPerPartition }),
    })
    this.#consumer = consumer
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const owned = new Set<string>()
      for (const [topic, parts] of Object.entries(e.payload.memberAssignment)) for (const p of parts) owned.add(tpKey(topic, p))
      this.#reassign(owned)
      this.#log?.info({ groupId: o.groupId, assignment: e.payload.memberAssignment }, 'joined the consumer group')
      if (this.#stop.aborted) this.#pauseAll()
    })
    consumer.on(consumer.events.CRASH, (e) => {
      if (e.payload.restart) {
        this.#log?.warn({ err: e.payload.error.message }, 'the Kafka consumer restarts after an error')
        return
      }
      const type = (e.payload.error as { type?: string }).type
      // kafkajs gives up on errors it deems fatal, such as some group-protocol answers during a rebalance
      // (INVALID_REQUEST to a SyncGroup). A worker is meant to run until stopped: it lets go of its
      // partitions and joins again with a new consumer, up to MAX_CRASHES times without a batch taken in
      // between; then the run fails.
      if (++this.#crashes <= MAX_CRASHES && !this.#stop.aborted && this.#consumer === consumer) {
        this.#log?.warn({ err: e.payload.error.message, type, attempt: this.#crashes }, 'the Kafka consumer failed; joining the group again')
        this.#reassign(new Set())
        setTimeout(() => { if (!this.#stop.aborted && this.#consumer === consumer) this.start().catch((err: unknown) => this.#fail(err)) }, 500)
        return
      }
      this.#fail(wrapError('MAIF_ERR_KAFKA_CONSUMER', `the Kafka consumer of group ${o.groupId} stopped${type ? ` (${type})` : ''}`, e.payload.error))
    })
    try {
      await consumer.connect()
      await consumer.subscribe({ topics: o.topics, fromBeginning: o.fromBeginning })
    } catch (err) {
      await consumer.disconnect().catch(() => undefined)
      throw wrapError('MAIF_ERR_KAFKA_CONNECT', `cannot join the Kafka consumer group ${o.groupId}`, err)
    }
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 1, eachBatch: (p) => this.#eachBatch(p) })
    // A commit that failed (a rebalance in between) is retried with the next one; when no more records come
    // for that partition there is no next one, so durable offsets not yet committed are retried every second.
    this.#retryTimer ??= setInterval(() => {
      if (this.#pendingCommits() && this.#commitDue()) this.#commits = this.#commits.then(() => this.#commitDurable())
    }, 1000)
    this.#retryTimer.unref()
  }

  /** Whether commitIntervalMs has passed since the last commit (always, without one). */
  #commitDue(): boolean {
    return Date.now() - this.#lastCommitAt >= this.#o.commitIntervalMs
  }

  #pendingCommits(): boolean {
    for (const [key, d] of this.#durable) if (this.#owned.has(key) && (this.#committed.get(key) ?? -1n) < d.next) return true
    return false
  }

  /**
   * A new assignment. A partition lost gets a release envelope behind what was read of it (a sink that
   * splits by partition closes its container after writing those). A partition newly assigned starts a new
   * epoch: kafkajs reads it from the committed offset, and nothing read in an earlier ownership is committed.
   */
  #reassign(owned: Set<string>): void {
    for (const key of this.#owned) {
      if (owned.has(key)) continue
      const [topic, p] = key.split('\u0000') as [string, string]
      const partition = Number(p)
      const ack: KafkaToken = { topic, partition, offsets: [], last: null, epoch: this.#epoch.get(key) ?? 0 }
      this.#queue.push({ kind: 'lines', format: this.#o.format === 'text' ? 'text' : 'json', data: Buffer.alloc(0), count: 0, ack, route: { topic, partition: p }, release: true })
      this.#wakeItem?.()
    }
    for (const key of owned) {
      if (this.#owned.has(key)) continue
      this.#epoch.set(key, (this.#epoch.get(key) ?? 0) + 1)
      this.#readMark.delete(key)
      this.#durable.delete(key)
      this.#committed.delete(key)
    }
    this.#owned = owned
  }

  #fail(err: unknown): void {
    this.#failed ??= err
    this.#wakeItem?.()
  }

  #pauseAll(): void {
    const topics = new Set([...this.#owned].map((k) => k.split('\u0000')[0]!))
    if (topics.size) this.#consumer?.pause([...topics].map((topic) => ({ topic })))
  }

  async #eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale, pause }: EachBatchPayload): Promise<void> {
    if (this.#stop.aborted) { pause(); return }
    const { topic, partition } = batch
    const key = tpKey(topic, partition)
    const mark = this.#readMark.get(key)
    // After a rebalance kafkajs fetches again from the committed offset: what this process already carries
    // will be committed when it is durable, so it is not read twice.
    const messages = mark === undefined ? batch.messages : batch.messages.filter((m) => BigInt(m.offset) >= mark)
    const last = batch.lastOffset()
    if (messages.length === 0) {
      if (mark !== undefined && BigInt(last) < mark) resolveOffset(last)
      return
    }
    const decoded = decodeBatch(topic, partition, messages, last, this.#epoch.get(key) ?? 0, { format: this.#o.format, metaField: this.#o.metaField })
    const interval = Math.max(100, Math.min(this.#o.heartbeatInterval ?? 3000, 1000))
    while (this.#queue.length >= this.#o.queue) {
      if (this.#stop.aborted) { pause(); return }
      if (!isRunning() || isStale()) return
      await new Promise<void>((r) => {
        const timer = setTimeout(r, interval)
        this.#wakeRoom.push(() => { clearTimeout(timer); r() })
      })
      // Slow stages: keep the membership alive. A rebalance throws here, before the batch is taken, and
      // kafkajs fetches it again in the new generation.
      await heartbeat()
    }
    if (this.#stop.aborted) { pause(); return }
    for (const r of decoded.rejected) {
      this.#deadLetter({ code: 'MAIF_ERR_KAFKA_DECODE', reason: r.reason, raw: r.raw, source: { topic, partition, offset: r.offset } })
    }
    this.stats.records += messages.length
    this.stats.bytes += decoded.bytes
    const ps = this.#partition(key)
    ps.records += messages.length
    ps.bytes += decoded.bytes
    ps.lag = Number(BigInt(batch.highWatermark) - BigInt(last) - 1n)
    this.#queue.push(decoded.batch)
    this.#crashes = 0
    this.#readMark.set(key, BigInt(last) + 1n)
    resolveOffset(last)
    this.#wakeItem?.()
  }

  /** Envelopes in the order kafkajs delivered them (per partition: offset order), until the stop. */
  async *batches(): AsyncGenerator<Batch> {
    if (this.#stop.aborted) return
    await this.start()
    const onStop = (): void => { this.#pauseAll(); this.#wakeItem?.() }
    this.#stop.addEventListener('abort', onStop, { once: true })
    try {
      for (;;) {
        if (this.#failed !== undefined) throw this.#failed
        const item = this.#queue.shift()
        if (item) {
          this.#wakeRoom.shift()?.()
          yield item
          continue
        }
        // After a stop, what was already taken from Kafka is handed on (it is in memory, bounded by the queue).
        if (this.#stop.aborted) return
        await new Promise<void>((r) => { this.#wakeItem = r })
        this.#wakeItem = null
      }
    } finally {
      this.#stop.removeEventListener('abort', onStop)
    }
  }

  /** Every output has made `progress` durable: commit the offsets after it, for the partitions still held. */
  commit(progress: AckProgress): Promise<void> {
    const advance = (t: KafkaToken, next: bigint): void => {
      const key = tpKey(t.topic, t.partition)
      if (t.epoch !== (this.#epoch.get(key) ?? 0)) return
      const d = this.#durable.get(key)
      if (!d) this.#durable.set(key, { topic: t.topic, partition: t.partition, next })
      else if (next > d.next) d.next = next
    }
    for (const t of progress.done as KafkaToken[]) if (t.last !== null) advance(t, BigInt(t.last) + 1n)
    const p = progress.partial
    if (p && p.records > 0) {
      const t = p.token as KafkaToken
      advance(t, BigInt(t.offsets[p.records - 1]!) + 1n)
    }
    // Not yet due: the timer above commits it (or close(), at the latest). Durable offsets only ever wait.
    if (!this.#commitDue()) return Promise.resolve()
    this.#commits = this.#commits.then(() => this.#commitDurable())
    return this.#commits
  }

  async #commitDurable(): Promise<void> {
    const consumer = this.#consumer
    if (!consumer) return
    const offsets: Array<{ topic: string; partition: number; offset: string }> = []
    for (const [key, d] of this.#durable) {
      if (!this.#owned.has(key)) continue
      if ((this.#committed.get(key) ?? -1n) >= d.next) continue
      offsets.push({ topic: d.topic, partition: d.partition, offset: d.next.toString() })
    }
    if (offsets.length === 0) return
    try {
      await consumer.commitOffsets(offsets)
      this.#lastCommitAt = Date.now()
      for (const x of offsets) {
        const key = tpKey(x.topic, x.partition)
        this.#committed.set(key, BigInt(x.offset))
        this.#partition(key).committed = Number(x.offset)
      }
    } catch (err) {
      // A rebalance or a coordinator move: the records are durable, and the next commit (or the next owner,
      // reading them again) covers them. At-least-once holds; only duplicates are possible.
      this.#log?.warn({ err: (err as Error).message, offsets }, 'committing Kafka offsets failed; they are retried with the next commit')
    }
  }

  /** Leaves the group after the last commit. */
  async close(): Promise<void> {
    clearInterval(this.#retryTimer)
    // The last durable offsets, once more if a rebalance made the previous attempt fail.
    if (this.#pendingCommits()) this.#commits = this.#commits.then(() => this.#commitDurable())
    await this.#commits.catch(() => undefined)
    const c = this.#consumer
    this.#consumer = null
    this.#wakeRoom.splice(0).forEach((w) => w())
    if (c) await c.disconnect().catch((err: unknown) => this.#log?.warn({ err: (err as Error).message }, 'leaving the Kafka group failed'))
  }
}
