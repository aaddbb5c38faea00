// readLines numbers lines and places records exactly, however the input falls into chunks: good lines, bad JSON,
// empty lines and over-long lines (also longer than a read chunk, also the file's last line), with and without
// a worker pool. Every batch's position is where its input ends, so positions only move forward: a cursor that
// stores one never passes a record not yet handed on.
import t from 'tap'
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readLines, type LineStats, type Rejection } from '../src/core/runtime/line-reader.js'
import { WorkerPool } from '../src/core/workers/worker-pool.js'

const HWM = 4096
const MAX_LINE = 1500

/** Line i (1-based) of the fixture, and whether readLines must accept it. */
function line(i: number): { text: string; ok: boolean } {
  if (i % 97 === 0) return { text: 'x'.repeat(HWM * 3 + (i % 7)), ok: false } // longer than a read chunk
  if (i % 41 === 0) return { text: `{"i":${i},"pad":"${'p'.repeat(MAX_LINE)}"}`, ok: false } // over maxLine, within a chunk or two
  if (i % 13 === 0) return { text: `{"i":${i},`, ok: false } // invalid JSON
  if (i % 29 === 0) return { text: '', ok: false } // empty
  return { text: `{"i":${i},"s":"${'a'.repeat(i % 300)}"}`, ok: true }
}

function fixture(n: number, lastIsLong: boolean, lastNewline: boolean): { body: Buffer; want: { i: number; end: number }[]; rejected: number[] } {
  const parts: string[] = []
  const want: { i: number; end: number }[] = []
  const rejected: number[] = []
  let bytes = 0
  for (let i = 1; i <= n; i++) {
    const l = i === n && lastIsLong ? { text: 'y'.repeat(HWM * 2 + 5), ok: false } : line(i)
    const s = l.text + (i === n && !lastNewline ? '' : '\n')
    bytes += Buffer.byteLength(s)
    parts.push(s)
    if (l.ok) want.push({ i, end: bytes })
    else rejected.push(i)
  }
  return { body: Buffer.from(parts.join('')), want, rejected }
}

async function readAll(file: string, pool: WorkerPool | null) {
  const stats: LineStats = { lines: 0, accepted: 0, rejected: 0, bytes: 0 }
  const rejects: Rejection[] = []
  const got: { i: number; end: number; line: number }[] = []
  const positions: { offset: number; line: number; last: boolean }[] = []
  for await (const b of readLines(file, true, MAX_LINE, HWM, pool, stats, (r) => rejects.push(r))) {
    positions.push({ offset: b.pos.offset, line: b.pos.line, last: b.pos.last })
    const text = b.data.toString()
    const recs = text.length === 0 ? [] : text.split('\n').slice(0, -1)
    for (let k = 0; k < b.count; k++) got.push({ i: (JSON.parse(recs[k]!) as { i: number }).i, end: b.records.end(k)!, line: b.records.line(k)! })
  }
  return { stats, rejects, got, positions }
}

const dir = mkdtempSync(join(tmpdir(), 'maif-lines-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const pool = new WorkerPool(2)
t.teardown(() => pool.close())

for (const [name, lastIsLong, lastNewline] of [
  ['ends with a good line', false, true],
  ['ends with a good line and no newline', false, false],
  ['ends inside an over-long line with no newline', true, false],
  ['ends with an over-long line and its newline', true, true],
] as const) {
  for (const withPool of [true, false]) {
    t.test(`${name}, ${withPool ? 'on a pool' : 'inline'}`, async (t) => {
      const n = 1000
      const f = fixture(n, lastIsLong, lastNewline)
      const file = join(dir, `${name.replace(/\W+/g, '-')}.jsonl`)
      writeFileSync(file, f.body)
      const r = await readAll(file, withPool ? pool : null)
      t.strictSame(r.got.map((g) => g.i), f.want.map((w) => w.i), 'exactly the good lines, in order')
      t.strictSame(r.got.map((g) => g.line), f.want.map((w) => w.i), 'each record carries its line number')
      t.strictSame(r.got.map((g) => g.end), f.want.map((w) => Math.min(w.end, f.body.length)), 'and where it ends in the file')
      t.strictSame(r.rejects.map((x) => x.line), f.rejected, 'every rejected line is reported once, with its number, in order')
      t.strictSame({ ...r.stats }, { lines: n, accepted: f.want.length, rejected: f.rejected.length, bytes: f.body.length }, 'counts reconcile')
      for (let k = 1; k < r.positions.length; k++) {
        const a = r.positions[k - 1]!
        const b = r.positions[k]!
        if (b.offset < a.offset || b.line < a.line || a.last) {
          t.fail(`position ${k} goes back or follows the last one: ${JSON.stringify(a)} then ${JSON.stringify(b)}`)
          break
        }
      }
      const end = r.positions.at(-1)
      t.strictSame(end, { offset: f.body.length, line: n, last: true }, 'the last position is the end of the input, marked last')
      t.ok(r.positions.length > 10, `the input came in many batches (${r.positions.length})`)
    })
  }
}
