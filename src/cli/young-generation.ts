// The CLI caps the main thread's young generation at YOUNG_CAP. V8 doubles it, up to 32 MiB on 64-bit, each time
// the bytes that survived its collections since the last doubling exceed its size, so any long run ends at the
// maximum whatever it holds: verify --pub peaked at 76 MiB on 25,000 one-record blocks and 112 MiB on a million,
// the difference mostly young generation. Held at 8–16 MiB: 93 MiB, as fast; never grown (two 1 MiB
// semi-spaces): 94 MiB but 19 % slower.
//
// --max-semi-space-size is read only when the heap is made, before any code of ours runs; the growth factor is
// read at each doubling. So it becomes 1 once the young generation reaches half the cap: collections are reported
// to JavaScript a turn later, and one more doubling may come first. It is process-wide: worker threads' young
// generations stop growing then too (theirs hold one job's objects at a time). Starting a worker thread puts the
// flag back to its default, so it is set again after every collection that finds the young generation that
// large (a 2 GiB pack, which starts its workers after the first doubling, grew it to 32 MiB at 8 s). Node 24
// would otherwise let it grow to 128 MiB.
import { PerformanceObserver } from 'node:perf_hooks'
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8'

/** Bytes of the young generation (both semi-spaces) past which it grows no more. */
export const YOUNG_CAP = 16 << 20

const youngBytes = (): number => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0

/**
 * Stops the young generation's growth at about `cap` bytes: checked after each collection, it is frozen at the first
 * size of half the cap or more (V8's sizes are not all powers of two: Node 24 stops at 18 MiB).
 */
export function capYoungGeneration(cap = YOUNG_CAP): void {
  const hold = (): void => {
    if (youngBytes() >= cap / 2) setFlagsFromString('--semi-space-growth-factor=1')
  }
  hold()
  new PerformanceObserver(hold).observe({ entryTypes: ['gc'] })
}
