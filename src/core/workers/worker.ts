// Worker-thread side of WorkerPool: pure functions over bytes, no shared state.
import { parentPort } from 'node:worker_threads'
import { createHash } from 'node:crypto'
import { openSync, readSync, closeSync } from 'node:fs'
import { MaifError, type ErrorCode } from '../errors.js'
import { isValidJson } from '../format/json-validate.js'
import type { Codec } from '../format/format.js'

export type WorkerRequest =
  | { op: 'compress'; codec: Codec; level?: number; parts: Uint8Array[]; giveBack?: boolean }
  | { op: 'lines'; data: Uint8Array; validateJson: boolean; maxLine?: number }
  | { op: 'leaves'; path: string; boxes: Array<[offset: number, size: number]> }

/** A rejected line with its exact bytes (a copy: it crosses to the main thread). */
export interface LineReject { line: number; reason: string; raw: Uint8Array }

export type WorkerResponse =
  | { op: 'compress'; body: Uint8Array; spare?: Uint8Array }
  | { op: 'lines'; valid: Uint8Array; count: number; lines: number; rejects: LineReject[]; ends: Uint32Array; lineNos: Uint32Array }
  | { op: 'leaves'; leaves: Uint8Array[] }
  | { op: 'error'; code: ErrorCode; message: string }

const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength)

/** Splits a chunk of whole lines ('\n'-terminated), validates each as JSON, and drops the bad ones. */
export function validateLines(data: Buffer, validateJson: boolean, maxLine = Infinity): { valid: Buffer; count: number; lines: number; rejects: LineReject[]; ends: Uint32Array; lineNos: Uint32Array } {
  const rejects: LineReject[] = []
  const keep: Buffer[] = []
  let count = 0
  let lines = 0
  let start = 0
  let keptFrom = 0
  // Where each kept record ends in the chunk, and its line number: what a cursor needs to resume
  // exactly after the last committed record, even in the middle of a chunk.
  const endsAll: number[] = []
  const linesAll: number[] = []
  while (start < data.length) {
    let nl = data.indexOf(0x0a, start)
    if (nl === -1) nl = data.length
    lines++
    const line = data.subarray(start, nl)
    let reason: string | null = null
    if (line.length > maxLine) reason = `line longer than maxLineLength (${line.length} > ${maxLine} bytes)`
    else if (line.length === 0 || (line.length === 1 && line[0] === 0x0d)) reason = 'empty line'
    else if (validateJson && !isValidJson(data, start, nl)) {
      // The byte-level validator decides (about 3x faster than JSON.parse); JSON.parse only words the reason.
      try {
        JSON.parse(line.toString('utf8'))
        reason = 'invalid JSON'
      } catch (err) {
        reason = `invalid JSON: ${(err as Error).message}`
      }
    }
    if (reason === null) {
      count++
      endsAll.push(Math.min(nl + 1, data.length))
      linesAll.push(lines)
    } else {
      // Keep the good run before this line; the bad line is reported, never silently lost.
      if (start > keptFrom) keep.push(data.subarray(keptFrom, start))
      keptFrom = nl + 1
      rejects.push({ line: lines, reason, raw: Uint8Array.prototype.slice.call(line) })
    }
    start = nl + 1
  }
  const ends = Uint32Array.from(endsAll)
  const lineNos = Uint32Array.from(linesAll)
  if (rejects.length === 0) return { valid: data, count, lines, rejects, ends, lineNos }
  if (keptFrom < data.length) keep.push(data.subarray(keptFrom))
  return { valid: Buffer.concat(keep), count, lines, rejects, ends, lineNos }
}

function leaves(path: string, boxes: Array<[number, number]>): Uint8Array[] {
  const fd = openSync(path, 'r')
  try {
    const scratch = Buffer.allocUnsafe(1 << 20) // boxes are hashed through one reused 1 MiB window
    const zero = Buffer.from([0])
    return boxes.map(([offset, size]) => {
      const h = createHash('sha256').update(zero)
      for (let done = 0; done < size;) {
        const n = readSync(fd, scratch, 0, Math.min(scratch.length, size - done), offset + done)
        if (n === 0) throw new MaifError('MAIF_ERR_TRUNCATED', `the container ends inside the box at ${offset}`, { offset })
        h.update(scratch.subarray(0, n))
        done += n
      }
      return h.digest()
    })
  } finally {
    closeSync(fd)
  }
}

// The codec (and its native zstd binding) loads on the first compress job: hashing workers never need it.
let codec: typeof import('../format/codec.js') | undefined

export async function handle(req: WorkerRequest): Promise<WorkerResponse> {
  switch (req.op) {
    case 'compress': {
      codec ??= await import('../format/codec.js')
      const body = codec.compressParts(req.codec, req.parts.map(buf), req.level === undefined ? {} : { level: req.level })
      // giveBack: the last part's ArrayBuffer goes back to the sender for reuse (body never shares it: zstd,
      // gzip and brotli write new buffers, and the compressor never sends 'none' here).
      return { op: 'compress', body, ...(req.giveBack ? { spare: req.parts[req.parts.length - 1]! } : {}) }
    }
    case 'lines': return { op: 'lines', ...validateLines(buf(req.data), req.validateJson, req.maxLine) }
    case 'leaves': return { op: 'leaves', leaves: leaves(req.path, req.boxes) }
  }
}

/** Buffers a response can hand back without a copy: those that span their whole ArrayBuffer. */
function transferable(res: WorkerResponse): ArrayBuffer[] {
  const views = res.op === 'lines' ? [res.valid, res.ends, res.lineNos] : res.op === 'compress' ? [res.body] : res.op === 'leaves' ? res.leaves : []
  const out = new Set<ArrayBuffer>()
  // A spare is handed back whole, whatever part of it the view covers: the sender gave all of it away.
  if (res.op === 'compress' && res.spare && res.spare.buffer instanceof ArrayBuffer) out.add(res.spare.buffer)
  for (const v of views) if (v.byteOffset === 0 && v.byteLength === v.buffer.byteLength && v.buffer instanceof ArrayBuffer) out.add(v.buffer)
  return [...out]
}

parentPort?.on('message', async (req: WorkerRequest) => {
  let res: WorkerResponse
  try {
    res = await handle(req)
  } catch (err) {
    res = err instanceof MaifError ? { op: 'error', code: err.code, message: err.message } : { op: 'error', code: 'MAIF_ERR_IO', message: String((err as Error)?.message ?? err) }
  }
  parentPort!.postMessage(res, transferable(res))
})
