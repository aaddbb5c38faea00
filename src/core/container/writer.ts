// A container writer from options: the write path (write-path.ts) plus the appender.
import { pipeline } from 'node:stream/promises'
import { Readable, type Transform } from 'node:stream'
import { WriterSession, type SessionOptions } from './session.js'
import type { FramerOptions } from './write/framer.js'
import type { CompressorOptions } from './write/compressor.js'
import type { CheckpointCadence } from './write/hash-chainer.js'
import { buildWritePath } from './write-path.js'
import { ContainerSink, type FsyncPolicy } from './write/appender.js'
import type { Commit } from './blocks.js'
import type { WorkerPool } from '../workers/worker-pool.js'

export interface ContainerWriterOptions extends SessionOptions {
  framer?: FramerOptions
  codec?: CompressorOptions['codec']
  level?: number
  checkpointEvery?: CheckpointCadence
  fsync?: FsyncPolicy
  /** Compress on these worker threads (see WorkerPool); the caller closes the pool. */
  pool?: WorkerPool
}

export interface ContainerWriter {
  session: WriterSession
  /** The stages in order (framer first); pipe records into the first, then into the sink. */
  stages: Transform[]
  sink: ContainerSink
}

/** Opens (or creates) a container for append and builds its write path. */
export async function openContainerWriter(path: string, opts: ContainerWriterOptions): Promise<ContainerWriter> {
  const session = await WriterSession.open(path, opts)
  try {
    const sink = new ContainerSink({ session, ...(opts.fsync ? { fsync: opts.fsync } : {}) })
    const { streams } = buildWritePath(session, [
      { type: 'frame', options: { ...(opts.now ? { now: opts.now } : {}), ...opts.framer } },
      { type: 'compress', ...(opts.codec ? { codec: opts.codec } : {}), ...(opts.level === undefined ? {} : { level: opts.level }) },
      ...(session.encrypted ? [{ type: 'encrypt' as const }] : []),
      { type: 'chain', ...(opts.checkpointEvery ? { checkpointEvery: opts.checkpointEvery } : {}) },
      { type: 'sign' },
    ], opts.pool ? { pool: opts.pool } : {})
    return { session, stages: streams, sink }
  } catch (err) {
    await session.close()
    throw err
  }
}

/** Writes every record from `source` into the container at `path`; resolves with the final commit. */
export async function writeContainer(path: string, source: Readable | AsyncIterable<unknown> | Iterable<unknown>, opts: ContainerWriterOptions & { signal?: AbortSignal }): Promise<Commit> {
  const w = await openContainerWriter(path, opts)
  // Iterables are handed to the framer in arrays: one stream hop per 1,024 records, not per record.
  const src = typeof (source as Readable).pipe === 'function' ? (source as Readable) : Readable.from(batched(source as Iterable<unknown> | AsyncIterable<unknown>, 1024), { objectMode: true, highWaterMark: 4 })
  await pipeline([src, ...w.stages, w.sink], opts.signal ? { signal: opts.signal } : {})
  return w.sink.lastCommit!
}

async function* batched<T>(it: Iterable<T> | AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let batch: T[] = []
  for await (const x of it) {
    batch.push(x)
    if (batch.length >= size) {
      yield batch
      batch = []
    }
  }
  if (batch.length) yield batch
}
