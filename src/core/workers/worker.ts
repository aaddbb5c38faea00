// Worker-thread side of WorkerPool: functions over bytes and files; the only state is per-thread scratch memory.
import { parentPort } from 'node:worker_threads'
import { createHash, type KeyObject } from 'node:crypto'
import { openSync, readSync, closeSync } from 'node:fs'
import { MaifError, type ErrorCode } from '../errors.js'
import { judgeLines } from '../format/json-validate.js'
import { workedBytes } from '../format/reclaim.js'
import type { Codec } from '../format/format.js'
import type { AnswerMessage, JobMessage } from './worker-pool.js'

export type WorkerRequest =
  | { op: 'compress'; codec: Codec; level?: number; parts: Uint8Array[]; giveBack?: boolean }
  | { op: 'lines'; data: Uint8Array; validateJson: boolean; maxLine?: number; positions?: boolean }
  | BoxesRequest

/**
 * Reads data boxes from a local container, checks each against what the main thread read or verified, hashes
 * it, and with `open` authenticates and decompresses it: a verify or a reader on both cores.
 */
export interface BoxesRequest {
  op: 'boxes'
  path: string
  /** Boxes larger than this fail before anything is allocated for them. */
  maxBox: number
  boxes: Array<{
    offset: number
    size: number
    /** The bytes the main thread read at `offset` (its head): the box read here must start with them. */
    head: Uint8Array
    /** Decrypt and decompress this box (a data box of the session named in `session`). */
    open?: boolean
  }>
  session?: { key: KeyObject | null; containerId: Uint8Array; sessionId: Uint8Array }
}

/** A rejected line with its exact bytes (a copy: it crosses to the main thread). */
export interface LineReject { line: number; reason: string; raw: Uint8Array }

export type WorkerResponse =
  | { op: 'compress'; body: Uint8Array; spare?: Uint8Array; bodyInSpare?: boolean }
  | { op: 'lines'; valid: Uint8Array; count: number; lines: number; rejects: LineReject[]; ends: Uint32Array | null; lineNos: Uint32Array | null }
  | { op: 'boxes'; leaves: Uint8Array[]; failed?: { index: number; code: ErrorCode; message: string } }
  | { op: 'error'; code: ErrorCode; message: string }

const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength)

/**
 * Splits a chunk of whole lines ('\n'-terminated), validates each as JSON, and drops the bad ones. `ends[i]`: where
 * kept record i ends in the chunk, or null without `positions` (nothing will resume from them); `lineNos[i]`: its
 * line number in the chunk (from 1), or null when no line was dropped (record i is line i + 1), the usual case,
 * which then costs no array.
 */
export function validateLines(data: Buffer, validateJson: boolean, maxLine = Infinity, positions = true): { valid: Buffer; count: number; lines: number; rejects: LineReject[]; ends: Uint32Array | null; lineNos: Uint32Array | null } {
  const rejects: LineReject[] = []
  const keep: Buffer[] = []
  let count = 0
  let lines = 0
  let start = 0
  let keptFrom = 0
  // With JSON to check, every line is found and judged in one pass over the chunk (judgeLines); without, each
  // line's end is found with indexOf.
  const judged = validateJson ? judgeLines(data) : null
  // Where each kept record ends in the chunk, and its line number: what a cursor needs to resume
  // exactly after the last committed record, even in the middle of a chunk.
  const endsKept = judged && positions ? new Uint32Array(judged.count) : null // judged: at most one record per line
  const endsText: number[] = []
  let linesAll: number[] | null = null // filled only once a line is dropped
  while (start < data.length) {
    let nl: number
    let good = false
    if (judged) {
      nl = judged.ends[lines]!
      good = judged.bad[lines] === 0
    } else {
      nl = data.indexOf(0x0a, start)
      if (nl === -1) nl = data.length
    }
    lines++
    const len = nl - start
    let reason: string | null = null
    if (len > maxLine) reason = `line longer than maxLineLength (${len} > ${maxLine} bytes)`
    else if (good) { /* valid JSON, so not empty */ }
    else if (len === 0 || (len === 1 && data[start] === 0x0d)) reason = 'empty line'
    else if (validateJson) {
      // The byte-level validator decided (about 3x faster than JSON.parse); JSON.parse only words the reason.
      try {
        JSON.parse(data.toString('utf8', start, nl))
        reason = 'invalid JSON'
      } catch (err) {
        reason = `invalid JSON: ${(err as Error).message}`
      }
    }
    if (reason === null) {
      const end = Math.min(nl + 1, data.length)
      if (endsKept) endsKept[count] = end
      else if (positions) endsText.push(end)
      count++
      linesAll?.push(lines)
    } else {
      // Keep the good run before this line; the bad line is reported, never silently lost.
      if (start > keptFrom) keep.push(data.subarray(keptFrom, start))
      keptFrom = nl + 1
      rejects.push({ line: lines, reason, raw: Uint8Array.prototype.slice.call(data, start, nl) })
      linesAll ??= Array.from({ length: count }, (_, i) => i + 1) // every line so far was kept
    }
    start = nl + 1
  }
  // Its own memory, whole (it moves to the main thread without a copy).
  const ends = !positions ? null : endsKept ? (count === endsKept.length ? endsKept : endsKept.slice(0, count)) : Uint32Array.from(endsText)
  const lineNos = linesAll && Uint32Array.from(linesAll)
  if (rejects.length === 0) return { valid: data, count, lines, rejects, ends, lineNos }
  if (keptFrom < data.length) keep.push(data.subarray(keptFrom))
  return { valid: Buffer.concat(keep), count, lines, rejects, ends, lineNos }
}


// The codec (and its native zstd binding) loads on the first compress job: hashing workers never need it.
let codec: typeof import('../format/codec.js') | undefined
let opener: typeof import('../format/open-block.js') | undefined
let formats: typeof import('../format/format.js') | undefined

/** The box read here, reused from box to box; grows to the largest box (bounded by maxBox). */
let boxScratch = Buffer.allocUnsafe(0)
const LEAF_PREFIX = Buffer.from([0])

async function boxes(req: BoxesRequest): Promise<WorkerResponse> {
  const leavesOut: Uint8Array[] = []
  if (req.boxes.some((b) => b.open)) {
    opener ??= await import('../format/open-block.js')
    formats ??= await import('../format/format.js')
  }
  const fd = openSync(req.path, 'r')
  let index = 0
  try {
    for (; index < req.boxes.length; index++) {
      const b = req.boxes[index]!
      const where = { offset: b.offset }
      if (b.size > req.maxBox) throw new MaifError('MAIF_ERR_BOX_TOO_LARGE', `the box at offset ${b.offset} is ${b.size} bytes, above the ${req.maxBox} this reader accepts`, where)
      if (boxScratch.length < b.size) boxScratch = Buffer.allocUnsafe(Math.max(b.size, 1 << 20))
      const box = boxScratch.subarray(0, b.size)
      for (let done = 0; done < b.size;) {
        const n = readSync(fd, box, done, b.size - done, b.offset + done)
        if (n === 0) throw new MaifError('MAIF_ERR_TRUNCATED', `the container ends inside the box at ${b.offset}`, where)
        done += n
      }
      // The main thread checked the head it read; what is hashed and opened here must be those same bytes
      // (a file rewritten between the two reads fails here instead of verifying one box and opening another).
      if (b.head.length > b.size || !box.subarray(0, b.head.length).equals(b.head)) throw new MaifError('MAIF_ERR_IO', `the box at offset ${b.offset} changed while it was being read`, where)
      const leaf = createHash('sha256').update(LEAF_PREFIX).update(box).digest()
      leavesOut.push(leaf)
      if (!b.open) continue
      const s = req.session
      if (!s) throw new MaifError('MAIF_ERR_IO', 'a box to open came without its session')
      const h = formats!.decodeHeader(box, b.offset, b.size)
      const d = opener!.parseDataBox(b.offset, box, b.size)
      if (d.prefix.plainLen > req.maxBox) throw new MaifError('MAIF_ERR_BOX_TOO_LARGE', `block #${h.seq} at offset ${b.offset} declares a plaintext of ${d.prefix.plainLen} bytes, above the ${req.maxBox} this reader accepts`, { offset: b.offset, seq: h.seq })
      const cid = buf(s.containerId)
      const sid = buf(s.sessionId)
      opener!.checkBlock(s.key, cid, sid, h, box, d, b.offset)
    }
  } catch (err) {
    const e = err instanceof MaifError ? err : new MaifError('MAIF_ERR_IO', String((err as Error)?.message ?? err))
    return { op: 'boxes', leaves: leavesOut, failed: { index, code: e.code, message: e.message } }
  } finally {
    closeSync(fd)
  }
  return { op: 'boxes', leaves: leavesOut }
}

export async function handle(req: WorkerRequest): Promise<WorkerResponse> {
  switch (req.op) {
    case 'compress': {
      codec ??= await import('../format/codec.js')
      // giveBack: the last part's ArrayBuffer is the sender's to reuse. The compressed bytes go into it when they
      // fit (zstd), and it goes back as the body: no new memory here, and none for the sender to collect later.
      // Otherwise it goes back as the spare, beside a body of its own.
      const spare = req.giveBack ? req.parts[req.parts.length - 1]! : undefined
      const body = codec.compressParts(req.codec, req.parts.map(buf), req.level === undefined ? {} : { level: req.level }, spare?.buffer instanceof ArrayBuffer ? spare.buffer : undefined)
      if (spare && body.buffer === spare.buffer) return { op: 'compress', body, bodyInSpare: true }
      return { op: 'compress', body, ...(spare ? { spare } : {}) }
    }
    case 'lines': return { op: 'lines', ...validateLines(buf(req.data), req.validateJson, req.maxLine, req.positions) }
    case 'boxes': return boxes(req)
  }
}

/** Buffers a response can hand back without a copy: those that span their whole ArrayBuffer, and memory the request moved here whole. */
function transferable(res: WorkerResponse, req: WorkerRequest): ArrayBuffer[] {
  const views = res.op === 'lines' ? [res.valid, ...(res.ends ? [res.ends] : []), ...(res.lineNos ? [res.lineNos] : [])] : res.op === 'compress' ? [res.body] : res.op === 'boxes' ? res.leaves : []
  const out = new Set<ArrayBuffer>()
  // A spare is handed back whole, whatever part of it the view covers: the sender gave all of it away. So is a
  // body written into it.
  if (res.op === 'compress' && res.spare && res.spare.buffer instanceof ArrayBuffer) out.add(res.spare.buffer)
  if (res.op === 'compress' && res.bodyInSpare && res.body.buffer instanceof ArrayBuffer) out.add(res.body.buffer)
  // Lines that were all valid are the chunk itself, a view into memory the sender moved here whole (with free
  // room in front): it goes back the same way, instead of being copied into fresh memory on both sides.
  if (res.op === 'lines' && req.op === 'lines' && res.valid.buffer === req.data.buffer && res.valid.buffer instanceof ArrayBuffer) out.add(res.valid.buffer)
  for (const v of views) if (v.byteOffset === 0 && v.byteLength === v.buffer.byteLength && v.buffer instanceof ArrayBuffer) out.add(v.buffer)
  return [...out]
}

/**
 * One job at a time, in the order sent: the pool sends the next job before this one is answered, and a handler that
 * awaits (a module loading on first use) must not let the next one start meanwhile (the zstd scratch memory and
 * the validator's answers are per thread).
 */
let chain: Promise<void> = Promise.resolve()
parentPort?.on('message', (m: JobMessage) => {
  chain = chain.then(() => answer(m.id, m.req), () => answer(m.id, m.req))
})

async function answer(id: number, req: WorkerRequest): Promise<void> {
  // Measured now: the answer may move the request's memory back to the sender.
  const bytes = req.op === 'lines' ? req.data.byteLength : req.op === 'compress' ? req.parts.reduce((n, p) => n + p.byteLength, 0) : 0
  let res: WorkerResponse
  try {
    res = await handle(req)
  } catch (err) {
    res = err instanceof MaifError ? { op: 'error', code: err.code, message: err.message } : { op: 'error', code: 'MAIF_ERR_IO', message: String((err as Error)?.message ?? err) }
  }
  try {
    parentPort!.postMessage({ id, res } satisfies AnswerMessage, transferable(res, req))
  } catch (err) {
    // An answer that cannot be sent still answers its job, and the jobs after it still run.
    parentPort!.postMessage({ id, res: { op: 'error', code: 'MAIF_ERR_IO', message: `a worker's answer could not be sent: ${(err as Error)?.message ?? err}` } })
  }
  workedBytes(bytes)
}
