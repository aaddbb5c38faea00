// A small pool of worker threads for CPU-bound block work (zstd, JSON validation, hashing), so a pack or
// verify uses both cores. Jobs are plain messages; results come back in submission order via `ordered`.
import { Worker } from 'node:worker_threads'
import { availableParallelism } from 'node:os'
import { MaifError } from '../errors.js'
import type { WorkerRequest, WorkerResponse } from './worker.js'

const here = import.meta.url
// Under a TypeScript loader (tests) the worker is worker.ts beside this file; built, it is worker.js.
const WORKER_URL = new URL(here.endsWith('.ts') ? './worker.ts' : './worker.js', here)
// Workers inherit every Node option of the process (an explicit execArgv would refuse V8 and per-process options
// such as --max-old-space-size or --expose-gc). One of them, --input-type (set for `node --input-type=module -e …`
// or a script on stdin), makes a worker whose entry is a file fail to start. Such a process starts its workers from
// one line of code instead: `import()` reads the same in a script and in a module. Only then, because an eval'd
// worker does not get the module hooks of --import (a TypeScript loader, as in the tests).
const WORKER_BOOT = `import(${JSON.stringify(WORKER_URL.href)})`
// (--input-type given in NODE_OPTIONS is not handled: under module hooks such as tap's, the eval'd worker's
// import() then fails in the hooks thread as well.)
const bootFromCode = (): boolean => process.execArgv.some((a) => a === '--input-type' || a.startsWith('--input-type='))

interface Job { req: WorkerRequest; transfer: ArrayBuffer[]; resolve: (r: WorkerResponse) => void; reject: (e: Error) => void }
/** One worker thread (set by #attach, again after a failure) and the jobs sent to it, by id, not answered yet. */
class Slot {
  worker!: Worker
  readonly jobs = new Map<number, Job>()
}
/** The messages between the pool and a worker: a job and its id, and the answer under the same id. */
export interface JobMessage { id: number; req: WorkerRequest }
export interface AnswerMessage { id: number; res: WorkerResponse }

/**
 * Jobs sent ahead to each worker: when it finishes one, the next is already in its queue. With one at a time, a
 * worker sat idle from its answer until the main thread, busy or not scheduled (two workers and the main thread
 * share two cores), took the answer and sent the next job: each worker of a 1 GiB pack idled about 1.05 s of its
 * 3.4 s, and 0.5–0.7 s with two.
 */
export const JOBS_PER_WORKER = 2

export class WorkerPool {
  readonly size: number
  readonly #slots: Slot[] = []
  readonly #queue: Job[] = []
  #nextId = 0
  #closed = false

  #started = false

  /**
   * `lazy`: start the workers with the first job, not now (a caller that may not need them, e.g. a verify that
   * finds only small boxes, pays nothing: a worker costs 0.1–0.15 s of CPU and some 10 MB to start).
   */
  constructor(size = defaultWorkers(), opts: { lazy?: boolean } = {}) {
    if (!Number.isInteger(size) || size < 1 || size > 64) throw new MaifError('MAIF_ERR_INVALID_OPTION', `worker count must be 1..64, got ${size}`)
    this.size = size
    if (!opts.lazy) this.#start()
  }

  #start(): void {
    this.#started = true
    for (let i = 0; i < this.size; i++) {
      const slot = new Slot()
      this.#attach(slot)
      this.#slots.push(slot)
    }
  }

  /** Jobs sent to the workers and not answered yet (at most JOBS_PER_WORKER a worker; the rest wait here). */
  get inFlight(): number {
    let n = 0
    for (const s of this.#slots) n += s.jobs.size
    return n
  }

  /** Whether the workers were started (a lazy pool starts them with its first job). */
  get started(): boolean {
    return this.#started
  }

  /** Starts a worker thread for `slot` (again, after its last one failed). */
  #attach(slot: Slot): void {
    // Small heaps: a worker holds a few blocks at a time, and unbounded young generations inflate RSS.
    const fromCode = bootFromCode()
    const w = new Worker(fromCode ? WORKER_BOOT : WORKER_URL, { eval: fromCode, resourceLimits: { maxOldGenerationSizeMb: 128, maxYoungGenerationSizeMb: 8 } })
    slot.worker = w
    w.unref()
    w.on('message', (m: AnswerMessage) => {
      const job = slot.jobs.get(m.id)
      slot.jobs.delete(m.id)
      if (job) {
        if (m.res.op === 'error') job.reject(new MaifError(m.res.code, m.res.message))
        else job.resolve(m.res)
      }
      this.#pump()
    })
    w.on('error', (err) => {
      // Every job sent to this thread is lost with it.
      const lost = [...slot.jobs.values()]
      slot.jobs.clear()
      for (const job of lost) job.reject(new MaifError('MAIF_ERR_IO', `a worker thread failed: ${err.message}`, { cause: err }))
      if (!this.#closed) {
        this.#attach(slot)
        this.#pump()
      }
    })
  }

  /**
   * Runs one job. Buffers named in `transfer` move to the worker without a copy and are unusable here
   * afterwards: pass only buffers nothing else holds (see `ownedBuffer`).
   */
  run(req: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerResponse> {
    if (this.#closed) return Promise.reject(new MaifError('MAIF_ERR_IO', 'the worker pool is closed'))
    return new Promise((resolve, reject) => {
      this.#queue.push({ req, transfer, resolve, reject })
      if (!this.#started) this.#start()
      this.#pump()
    })
  }

  /** Sends queued jobs to the least busy workers, up to JOBS_PER_WORKER each; a worker with none lets the process exit. */
  #pump(): void {
    while (this.#queue.length > 0) {
      let slot: Slot | undefined
      for (const s of this.#slots) if (s.jobs.size < JOBS_PER_WORKER && (slot === undefined || s.jobs.size < slot.jobs.size)) slot = s
      if (slot === undefined) break
      const job = this.#queue.shift()!
      const id = this.#nextId++
      slot.jobs.set(id, job)
      slot.worker.ref()
      try {
        slot.worker.postMessage({ id, req: job.req } satisfies JobMessage, job.transfer)
      } catch (err) {
        slot.jobs.delete(id)
        job.reject(new MaifError('MAIF_ERR_IO', `a job could not be sent to a worker thread: ${(err as Error).message}`, { cause: err }))
      }
    }
    for (const s of this.#slots) if (s.jobs.size === 0) s.worker.unref()
  }

  async close(): Promise<void> {
    this.#closed = true
    const all = this.#slots.map((s) => s.worker)
    this.#slots.length = 0
    await Promise.all(all.map((w) => w.terminate()))
  }
}

export function defaultWorkers(): number {
  return Math.max(1, Math.min(4, availableParallelism()))
}

/**
 * Runs async jobs with at most `limit` in flight and hands results to `emit` in submission order:
 * what a parallel Transform needs to keep a stream's order.
 */
export class OrderedJobs<T> {
  readonly #limit: number
  readonly #inflight: Array<Promise<T>> = []

  constructor(limit: number) {
    this.#limit = limit
  }

  get full(): boolean {
    return this.#inflight.length >= this.#limit
  }

  /** Adds a job; when the window is full, waits for and returns the oldest result. */
  async add(job: Promise<T>): Promise<T | undefined> {
    job.catch(() => undefined) // observed by drainOne; avoid an unhandled rejection meanwhile
    this.#inflight.push(job)
    return this.full ? this.drainOne() : undefined
  }

  /** The oldest job, without taking it (undefined when none). */
  peek(): Promise<T> | undefined {
    return this.#inflight[0]
  }

  async drainOne(): Promise<T | undefined> {
    const p = this.#inflight.shift()
    return p === undefined ? undefined : await p
  }

  get size(): number {
    return this.#inflight.length
  }
}

/**
 * The ArrayBuffer behind `b` if `b` spans all of it (so moving it to a worker cannot take bytes anyone
 * else is using), else a private copy's. Node's small pooled Buffers always get copied.
 */
export function ownedBuffer(b: Uint8Array): { view: Uint8Array; buffer: ArrayBuffer } {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer) return { view: b, buffer: b.buffer }
  const copy = new Uint8Array(b.byteLength)
  copy.set(b)
  return { view: copy, buffer: copy.buffer }
}
