// Dead letters: records that could not be processed, written as JSON lines to the pipeline's dead-letter
// output (any sink; a file by default). Exact bytes are kept: as text when they are valid UTF-8, else base64.
// flush() makes every dead letter so far durable: the engine calls it before any acknowledgement.
import { isUtf8 } from 'node:buffer'
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { MaifError } from '../errors.js'
import type { DeadLetter, DeadLetterInput, SinkInstance } from './types.js'

export function deadLetterOf(stage: string, label: string, d: DeadLetterInput): DeadLetter {
  const out: DeadLetter = { stage, label, code: d.code, reason: d.reason, attempts: d.attempts ?? 1 }
  const raw = typeof d.raw === 'string' || Buffer.isBuffer(d.raw) ? d.raw : Buffer.from(d.raw as Uint8Array)
  if (typeof raw === 'string') out.raw = raw
  else if (isUtf8(raw)) out.raw = raw.toString('utf8')
  else {
    out.rawBase64 = raw.toString('base64')
    out.encoding = 'base64'
  }
  if (d.truncated) out.truncated = true
  if (d.source) out.source = d.source
  return out
}

/** Identifies a dead letter across runs: the stage that rejected it and where the source read it. */
function keyOf(d: Pick<DeadLetter, 'label' | 'source'>): string | null {
  const s = d.source
  if (!s || typeof s.file !== 'string' || typeof s.line !== 'number') return null
  return `${d.label}\0${s.file}\0${s.line}`
}

/**
 * The dead letters an earlier run already wrote for records this run reads again (`rereads`), from an
 * existing JSONL dead-letter file, streamed. Only those after the resumed position are kept, so the set is
 * bounded by what one checkpoint interval can hold. Unparseable lines (a torn last line after a crash, which
 * was never acknowledged) are not counted as written.
 */
export async function knownDeadLetters(path: string, rereads: (where: NonNullable<DeadLetter['source']>) => boolean): Promise<Set<string>> {
  const known = new Set<string>()
  const lines = createInterface({ input: createReadStream(path, { highWaterMark: 64 << 10 }), crlfDelay: Infinity })
  for await (const line of lines) {
    if (!line) continue
    let d: Pick<DeadLetter, 'label' | 'source'>
    try {
      d = JSON.parse(line) as Pick<DeadLetter, 'label' | 'source'>
    } catch {
      continue
    }
    const key = keyOf(d)
    if (key !== null && rereads(d.source!)) known.add(key)
  }
  return known
}

export class DeadLetters {
  readonly #sink: SinkInstance | null
  readonly path: string | null
  #pending: Buffer[] = []
  #pendingCount = 0
  #chain: Promise<void> = Promise.resolve()
  #known: Set<string> | null = null
  count = 0
  /** Dead letters not written again because the output already held them (a resumed run). */
  alreadyWritten = 0

  constructor(sink: SinkInstance | null, path: string | null) {
    this.#sink = sink
    this.path = path
  }

  /** Dead letters (from `knownDeadLetters`) that the output already holds: each is counted, not written, once. */
  skipKnown(known: Set<string>): void {
    this.#known = known.size > 0 ? known : null
  }

  write(d: DeadLetter): void {
    if (!this.#sink) throw new MaifError('MAIF_ERR_RECORD', `a record failed (${d.code}: ${d.reason}) and the pipeline has no deadLetter output`)
    this.count++
    if (this.#known) {
      const key = keyOf(d)
      if (key !== null && this.#known.delete(key)) {
        this.alreadyWritten++
        return
      }
    }
    this.#pending.push(Buffer.from(JSON.stringify({ time: new Date().toISOString(), ...d }) + '\n'))
    this.#pendingCount++
    if (this.#pendingCount >= 256) this.#drain()
  }

  #drain(): Promise<void> {
    if (this.#pendingCount === 0 || !this.#sink) return this.#chain
    const data = Buffer.concat(this.#pending)
    const count = this.#pendingCount
    this.#pending = []
    this.#pendingCount = 0
    const sink = this.#sink
    this.#chain = this.#chain.then(() => sink.write({ kind: 'lines', format: 'json', data, count, ack: null }))
    return this.#chain
  }

  /** Writes what is pending and makes every dead letter durable. */
  async flush(): Promise<void> {
    await this.#drain()
    await this.#sink?.flush?.()
  }

  async close(): Promise<void> {
    await this.#drain()
    await this.#sink?.close()
  }
}
