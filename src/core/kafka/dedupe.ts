// Duplicates of at-least-once delivery, removed on read. A record the kafka source wrote with `metadataField`
// carries its { topic, partition, offset }. In a container a partition's records are in offset order within
// each session, and a session written after a crash or a rebalance starts again at the last committed
// offset, at or below the highest offset already written: so a record whose offset is not above the highest
// one seen for its partition is a copy of one already released. Memory is one number per partition.
export class OffsetDedupe {
  readonly #field: string
  readonly #max = new Map<string, bigint>()
  /** Records dropped as duplicates. */
  dropped = 0

  constructor(field = '_kafka') {
    this.#field = field
  }

  /** Whether this record (one JSON line, without its newline) is new; records without coordinates are. */
  keep(line: string): boolean {
    let meta: unknown
    try {
      meta = (JSON.parse(line) as Record<string, unknown>)?.[this.#field]
    } catch {
      return true
    }
    if (meta === null || typeof meta !== 'object') return true
    const { topic, partition, offset } = meta as { topic?: unknown; partition?: unknown; offset?: unknown }
    if (typeof topic !== 'string' || typeof partition !== 'number' || (typeof offset !== 'string' && typeof offset !== 'number')) return true
    let at: bigint
    try {
      at = BigInt(offset)
    } catch {
      return true
    }
    const key = `${topic}\u0000${partition}`
    const max = this.#max.get(key)
    if (max !== undefined && at <= max) {
      this.dropped++
      return false
    }
    this.#max.set(key, at)
    return true
  }

  /** The block's JSON lines that are new, as bytes (the data of a JSON block: records each ending in '\n'). */
  filterBlock(data: Buffer): Buffer {
    const out: Buffer[] = []
    let start = 0
    while (start < data.length) {
      let end = data.indexOf(10, start)
      if (end < 0) end = data.length
      if (this.keep(data.subarray(start, end).toString('utf8'))) out.push(data.subarray(start, Math.min(end + 1, data.length)))
      start = end + 1
    }
    return out.length === 1 && out[0]!.length === data.length ? data : Buffer.concat(out)
  }
}
