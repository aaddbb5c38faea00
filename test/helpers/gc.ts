// The forced garbage collections this thread runs (reclaim.ts forces them), as PerformanceObserver reports them:
// a turn after they ran, so a test settles before it reads the counts.
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks'

export interface ForcedCollections {
  young: number
  full: number
  /** Waits for the reports of collections already run. */
  settle(): Promise<void>
  stop(): void
}

export function watchForcedCollections(): ForcedCollections {
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries() as Array<PerformanceEntry & { detail?: { kind: number; flags: number } }>) {
      if (!e.detail || (e.detail.flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) === 0) continue
      if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MINOR) w.young++
      else if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) w.full++
    }
  })
  const w: ForcedCollections = {
    young: 0,
    full: 0,
    settle: () => new Promise((r) => setTimeout(r, 50)),
    stop: () => obs.disconnect(),
  }
  obs.observe({ entryTypes: ['gc'] })
  return w
}
