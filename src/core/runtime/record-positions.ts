// Where each record of a line batch ends in its input, and its line number: what a cursor needs to resume right
// after the last durable record when a block boundary falls inside a batch. A batch's acknowledgement token keeps
// them until every output has the batch durable, up to a checkpoint's worth of input (32 MiB of boxes, some
// 128 MiB of agent JSONL) after it was read. So they stay as the worker found them: 4 bytes a record, relative to
// the chunk, and line numbers only when the chunk lost a line. Two Float64Arrays per batch (16 bytes a record,
// made on the main thread) held 9 MB of a 1 GiB pack's peak, against some 0.7 MB for a 16 MiB input. A source with
// no cursor asks for no ends at all, only a count: the ends, allocated on the workers and held that long, left some
// 4 MiB more in their memory at the end of a 1 GiB pack.

export class RecordPositions {
  static readonly none = new RecordPositions(0, 0, new Uint32Array(0), 0, null)

  readonly #start: number
  readonly #end: number
  readonly #ends: Uint32Array | null
  readonly #count: number
  readonly #firstLine: number
  readonly #lineNos: Uint32Array | null

  /**
   * `ends[i]`: where record i ends (after its newline), relative to `start`, the chunk's offset in the input, and
   * never past `end`, the chunk's end (a last line without '\n' got one added); or only how many records there are,
   * when nothing will resume from them (then `end` and `after` know nothing). `lineNos[i]`: record i's line
   * number in the chunk, from 1; null when every line of the chunk is a record (record i is line i + 1).
   * `firstLine`: the lines before the chunk.
   */
  constructor(start: number, end: number, ends: Uint32Array | number, firstLine: number, lineNos: Uint32Array | null) {
    this.#ends = typeof ends === 'number' ? null : ends
    this.#count = typeof ends === 'number' ? ends : ends.length
    if (lineNos !== null && lineNos.length !== this.#count) throw new RangeError('a line number for every record')
    this.#start = start
    this.#end = end
    this.#firstLine = firstLine
    this.#lineNos = lineNos
  }

  get count(): number {
    return this.#count
  }

  /** The input offset just after record `i` (0-based); undefined past the last record. */
  end(i: number): number | undefined {
    const rel = this.#ends?.[i]
    return rel === undefined ? undefined : Math.min(this.#start + rel, this.#end)
  }

  /** Where a cursor resumes once the first `n` records are durable: just after record n − 1. */
  after(n: number): { offset: number; line: number } | undefined {
    const offset = this.end(n - 1)
    const line = this.line(n - 1)
    return offset === undefined || line === undefined ? undefined : { offset, line }
  }

  /** Record `i`'s line number in the input (from 1); undefined past the last record. */
  line(i: number): number | undefined {
    if (!Number.isInteger(i) || i < 0 || i >= this.#count) return undefined
    return this.#firstLine + (this.#lineNos === null ? i + 1 : this.#lineNos[i]!)
  }
}
