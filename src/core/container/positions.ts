// Where a container's committed content ends in an ordered stream (a Kafka partition): the last offset of a
// stream that a block up to the last checkpoint holds, read from the blocks' public metadata `offsets`
// (FORMAT.md §5.3). A writer resuming after a crash or a rebalance uses it to skip records the container
// already has, instead of writing them twice.
//
// The walk goes backwards through the index chain from the last checkpoint's index, reading only box
// headers and public metadata, and stops at the first block that names the stream: a per-partition container
// answers at its last data block. It also stops at a JSON, TEXT or BINA block without `offsets` (written by
// a writer or source that did not record positions): nothing before it is trusted for skipping, so an old
// container costs one block and skips nothing. The block that answers is checked against its index entry
// (leaf hash), as the writer's open checks session boxes; `maif verify` checks everything else.
import type { FileHandle } from 'node:fs/promises'
import { MaifError } from '../errors.js'
import { DATA_PREFIX_LEN, decodeDataPrefix, decodeHeader, decodeIndex, FLAG_CONTINUES, HEADER_LEN, isStructural, parseJsonObject, type IndexEntry } from '../format/format.js'
import { readAt } from '../format/io.js'
import { leafHash } from '../format/merkle.js'

const LINE_TYPES = new Set(['JSON', 'TEXT', 'BINA'])

/** Reads the last committed offset of each stream asked for, walking back at most once over the container. */
export class CommittedPositions {
  readonly #fh: FileHandle
  readonly #size: number
  /** The next index box to read (walking back), or null at the start of the container. */
  #nextIndex: number | null
  /** Entries of the index being walked, not yet looked at (in file order; taken from the end). */
  #pending: IndexEntry[] = []
  /** Streams found so far: the last offset the latest block naming them holds. */
  readonly #found = new Map<string, bigint>()
  #stopped = false

  /** `lastIndexOffset`: the index the last checkpoint follows, as the writer read it at open (before writing). */
  constructor(fh: FileHandle, size: number, lastIndexOffset: number | null) {
    this.#fh = fh
    this.#size = size
    this.#nextIndex = lastIndexOffset
  }

  /** The last offset of `stream` the committed content holds, or null when it holds none (or cannot tell). */
  async last(stream: string): Promise<bigint | null> {
    for (;;) {
      const hit = this.#found.get(stream)
      if (hit !== undefined) return hit
      if (this.#stopped) return null
      const e = this.#pending.pop()
      if (e === undefined) {
        if (this.#nextIndex === null) { this.#stopped = true; continue }
        await this.#readIndex(this.#nextIndex)
        continue
      }
      await this.#look(e)
    }
  }

  async #readIndex(off: number): Promise<void> {
    const h = decodeHeader(await readAt(this.#fh, off, HEADER_LEN), off, this.#size - off)
    if (h.type !== 'indx') throw new MaifError('MAIF_ERR_INDEX', `offset ${off} is not an index box; run 'maif verify'`, { offset: off })
    const { prevIndex, entries } = decodeIndex(await readAt(this.#fh, off + HEADER_LEN, h.size - HEADER_LEN), off)
    if (prevIndex !== null && prevIndex >= off) throw new MaifError('MAIF_ERR_INDEX', 'the index chain does not go backwards', { offset: off })
    this.#pending = entries
    this.#nextIndex = prevIndex
  }

  async #look(e: IndexEntry): Promise<void> {
    if (isStructural(e.type) || (e.flags & FLAG_CONTINUES) !== 0 || e.size < HEADER_LEN + DATA_PREFIX_LEN) return
    const head = await readAt(this.#fh, e.offset, HEADER_LEN + DATA_PREFIX_LEN)
    const prefix = decodeDataPrefix(head.subarray(HEADER_LEN), e.size - HEADER_LEN, e.offset)
    const pub = parseJsonObject(await readAt(this.#fh, e.offset + HEADER_LEN + DATA_PREFIX_LEN, prefix.pubLen), e.offset, 'public metadata')
    if (pub.segment !== undefined) return
    const ranges = Array.isArray(pub.offsets) ? (pub.offsets as unknown[]) : null
    if (ranges === null) {
      if (LINE_TYPES.has(e.type)) this.#stopped = true
      return
    }
    let verified = false
    for (const r of ranges) {
      const { stream, last } = (r ?? {}) as { stream?: unknown; last?: unknown }
      if (typeof stream !== 'string' || typeof last !== 'string' || !/^\d+$/.test(last) || this.#found.has(stream)) continue
      if (!verified) {
        // The block that answers must be the one the index (covered by the checkpoint's tree) names.
        if (!leafHash(await readAt(this.#fh, e.offset, e.size)).equals(e.leaf)) {
          throw new MaifError('MAIF_ERR_INDEX', `the block at offset ${e.offset} does not match its index entry; run 'maif verify'`, { offset: e.offset })
        }
        verified = true
      }
      this.#found.set(stream, BigInt(last))
    }
  }
}
