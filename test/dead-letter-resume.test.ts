// A resumed run re-reads what followed its last durable position. Dead letters an earlier run already wrote
// for those lines are counted, not written again; those before the position, of other stages, of stdin, or
// torn by a crash do not count as written.
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DeadLetters, deadLetterOf, knownDeadLetters } from '../src/core/runtime/dead-letters.js'
import type { Batch, SinkInstance } from '../src/core/runtime/types.js'

const line = (label: string, file: string, n: number): string => JSON.stringify({ time: 't', stage: 'source', label, code: 'MAIF_ERR_RECORD', reason: 'bad', attempts: 1, raw: 'x', source: { file, line: n } })

t.test('knownDeadLetters keeps only what this run reads again, and skips a torn line', async (t) => {
  const dir = t.testdir()
  const path = join(dir, 'dead.jsonl')
  writeFileSync(path, [line('source', '/in/a', 5), line('source', '/in/a', 50), line('validate', '/in/a', 60), line('source', '/in/b', 7), line('source', '/in/a', 70).slice(0, 40)].join('\n'))
  const rereads = (w: { file?: string; line?: number }): boolean => w.file === '/in/a' && (w.line ?? 0) > 10
  const known = await knownDeadLetters(path, rereads)
  t.same([...known].sort(), ['source\0/in/a\x0050', 'validate\0/in/a\x0060'], 'after the position only; the torn line is not counted')
})

t.test('a known dead letter is counted once and not written; a second occurrence is written', async (t) => {
  const written: string[] = []
  const sink: SinkInstance = {
    write: async (b: Batch) => { if (b.kind === 'lines') written.push(b.data.toString()) },
    close: async () => undefined,
  }
  const dl = new DeadLetters(sink, '/x')
  dl.skipKnown(new Set(['source\0/in/a\x0050']))
  const d = deadLetterOf('source', 'source', { code: 'MAIF_ERR_RECORD', reason: 'bad', raw: 'x', source: { file: '/in/a', line: 50 } })
  dl.write(d)
  dl.write(d)
  dl.write(deadLetterOf('source', 'source', { code: 'MAIF_ERR_RECORD', reason: 'bad', raw: 'y', source: { file: '/in/a', line: 51 } }))
  await dl.close()
  t.equal(dl.count, 3, 'all three are counted, so counts reconcile')
  t.equal(dl.alreadyWritten, 1)
  const lines = written.join('').trim().split('\n').map((l) => JSON.parse(l) as { source: { line: number } })
  t.same(lines.map((l) => l.source.line), [50, 51], 'the repeat of line 50 within this run is written; the known one is not')
})

t.test('through the engine: a rerun with a cursor after a stop writes no dead letter twice', async (t) => {
  const { runPipeline } = await import('../src/index.js')
  const dir = t.testdir()
  const input: string[] = []
  for (let n = 0; n < 2000; n++) input.push(n % 100 === 3 ? '{"broken": ' : JSON.stringify({ n }))
  writeFileSync(join(dir, 'in.jsonl'), input.join('\n') + '\n')
  const def = {
    name: 'resume-dl',
    source: { type: 'file', path: 'in.jsonl', format: 'jsonl', cursor: 'job.cursor' },
    sink: { type: 'file', path: 'out.jsonl' },
    deadLetter: { type: 'file', path: 'dead.jsonl' },
  }
  // The first run "crashed" after writing dead letters but before its cursor advanced: simulate by writing
  // the dead letters a run would have written for the first 1000 lines, with no cursor.
  const pre: string[] = []
  for (let n = 0; n < 1000; n++) if (n % 100 === 3) pre.push(line('source', join(dir, 'in.jsonl'), n + 1))
  writeFileSync(join(dir, 'dead.jsonl'), pre.join('\n') + '\n')
  const report = await runPipeline(def, { cwd: dir })
  t.equal(report.reconciled, true)
  t.equal(report.deadLetters, 20, 'every malformed line of the input is counted')
  const dead = readFileSync(join(dir, 'dead.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { source: { line: number } })
  t.same(dead.map((d) => d.source.line), Array.from({ length: 20 }, (_, k) => k * 100 + 4), 'each malformed line once, in order')
})
