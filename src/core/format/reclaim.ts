// Frees the memory of short-lived Buffers early. Node's crypto gives every `update()` result fresh memory outside
// the JS heap (there is no API to decrypt into a caller's buffer), and V8 frees such memory only when it collects
// the small JS objects that own it. A reader allocates almost no JS objects per block, so no collection comes from
// the JS heap; V8 then starts one only after about 64 MiB of new external memory *per thread*. Measured on a
// 1 GiB pack: `verify --keyring` (two workers) peaked 60–70 MB higher, and `cat` some 50 MB higher, than the
// memory actually in use, all of it dead decrypted blocks waiting for that limit (`--trace-gc`: every collection
// said "external memory pressure"). A young-generation collection every few MiB of such garbage frees it while it
// is still young, for about 0.1–1 ms each (the young generation holds little else).
//
// A young collection moves what it finds alive twice into the old generation: buffers in flight when it runs, and
// acknowledgement tokens waiting for the next checkpoint (up to a second). They die there, where only a full
// collection frees them, and V8 starts one only when the old generation grows, which a streaming pipeline's does
// not: a 1 GiB pack ran 2 full collections in 5 s, at its start and its end, and its peak RSS crept up all the
// way (140 MiB at 1 GiB, 148 MiB at 2 GiB). Every FULL_EVERY-th collection is therefore a full one, some 15–25 ms
// on the CLI's 15 MB heap; the same pack then peaks about 6 MiB lower.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

type Gc = (opts?: { type: 'minor' }) => void

/** Bytes of dropped external memory between two young-generation collections. */
export const RECLAIM_EVERY = 2 << 20
/** Every this many collections, a full one instead of a young one (once per 32 MiB dropped). */
export const FULL_EVERY = 16

let gc: Gc | null | undefined
let attempts = 0
let dropped = 0
let collections = 0

function collector(): Gc | null {
  if (gc !== undefined) return gc
  try {
    const g = (globalThis as { gc?: unknown }).gc
    if (typeof g === 'function') gc = g as Gc
    else {
      // The collector is reachable only from a context created while --expose-gc is set; the flag is set for
      // that one context and cleared again, so nothing else in the process sees a `gc` global.
      // Worker threads share V8's flags: another thread may clear it between these two steps (two pool workers
      // got here together, and one went without collections for the whole run). So a miss is tried again, at
      // once and at later calls.
      let found: unknown
      for (let i = 0; i < 3 && typeof found !== 'function'; i++) {
        setFlagsFromString('--expose-gc')
        try {
          found = runInNewContext('typeof gc === "function" ? gc : undefined')
        } finally {
          setFlagsFromString('--no-expose-gc')
        }
      }
      if (typeof found === 'function') gc = found as Gc
      else if (++attempts >= 8) gc = null
    }
  } catch {
    gc = null // a runtime without the flag: V8's own limit applies, memory stays bounded, only higher
  }
  return gc ?? null
}

/**
 * Reports `bytes` of Buffers this thread has just stopped using (e.g. a decrypted block already consumed); every
 * RECLAIM_EVERY bytes, a young-generation collection frees them, and every FULL_EVERY-th time a full one.
 */
export function droppedBytes(bytes: number): void {
  dropped += bytes
  if (dropped < RECLAIM_EVERY) return
  dropped = 0
  const gc = collector()
  if (gc === null) return
  collections++
  // gc() with no options is a full collection on every supported line; Node 20's V8 reads { type: 'major' } as
  // a young one.
  if (collections % FULL_EVERY === 0) gc()
  else gc({ type: 'minor' })
}

/** Bytes of work a worker thread does between two full collections of its own heap. */
export const WORKED_EVERY = 64 << 20
let worked = 0

/**
 * A worker thread reports the bytes of each job it has finished (a chunk validated, a block compressed); every
 * WORKED_EVERY bytes, a full collection of its heap. Its own young collections (every few MiB of JSON checked)
 * move the memory of the messages in flight into its old generation, where they die; a worker runs no full
 * collection of its own in a streaming job, and the two workers' malloc arenas grew through a whole 2 GiB pack.
 * With it, a 1 GiB pack peaked about 6 MiB lower, for some 5 ms a collection (about 8 a worker per GiB).
 */
export function workedBytes(bytes: number): void {
  worked += bytes
  if (worked < WORKED_EVERY) return
  worked = 0
  collector()?.()
}
