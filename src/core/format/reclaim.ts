// Frees the memory of short-lived Buffers early. Node's crypto gives every `update()` result fresh memory outside
// the JS heap (there is no API to decrypt into a caller's buffer), and V8 frees such memory only when it collects
// the small JS objects that own it. A reader allocates almost no JS objects per block, so no collection comes from
// the JS heap; V8 then starts one only after about 64 MiB of new external memory *per thread*. Measured on a
// 1 GiB pack: `verify --keyring` (two workers) peaked 60–70 MB higher, and `cat` some 50 MB higher, than the
// memory actually in use, all of it dead decrypted blocks waiting for that limit (`--trace-gc`: every collection
// said "external memory pressure"). A young-generation collection every few MiB of such garbage frees it while it
// is still young, for about 0.1–1 ms each (the young generation holds little else).
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

type Gc = (opts: { type: 'minor' | 'major' }) => void

/** Bytes of dropped external memory between two young-generation collections. */
export const RECLAIM_EVERY = 2 << 20

let gc: Gc | null | undefined
let dropped = 0

function collector(): Gc | null {
  if (gc !== undefined) return gc
  try {
    const g = (globalThis as { gc?: unknown }).gc
    if (typeof g === 'function') gc = g as Gc
    else {
      // The collector is reachable only from a context created while --expose-gc is set; the flag is set for
      // that one context and cleared again, so nothing else in the process sees a `gc` global.
      setFlagsFromString('--expose-gc')
      try {
        gc = runInNewContext('gc') as Gc
      } finally {
        setFlagsFromString('--no-expose-gc')
      }
      if (typeof gc !== 'function') gc = null
    }
  } catch {
    gc = null // a runtime without the flag: V8's own limit applies, memory stays bounded, only higher
  }
  return gc
}

/**
 * Reports `bytes` of Buffers this thread has just stopped using (e.g. a decrypted block already consumed); every
 * RECLAIM_EVERY bytes, a young-generation collection frees them.
 */
export function droppedBytes(bytes: number): void {
  dropped += bytes
  if (dropped < RECLAIM_EVERY) return
  dropped = 0
  collector()?.({ type: 'minor' })
}
