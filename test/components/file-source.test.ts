// The file source on its own: batches carry opaque tokens; prepare writes a cursor entry keyed by the
// container commit it precedes; commit moves the positions; a rebuilt source resumes after the committed records.
import '../../src/builtins.js'
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileSource } from '../../src/sources/file/index.js'
import { RunMetrics } from '../../src/core/runtime/observability.js'
import type { Batch, BuildContext, DeadLetterInput, SourceInstance } from '../../src/core/runtime/types.js'

function context(dir: string, dead: DeadLetterInput[], outputs: BuildContext['outputs'] = []): BuildContext {
  return {
    type: 'file', label: 'source', cwd: dir, logger: undefined, metrics: new RunMetrics('t'), keyringFlag: undefined, defaultKeyring: undefined,
    pool: () => { throw new Error('no pool in this test (text input)') }, deadLetter: (d) => dead.push(d), stop: new AbortController().signal,
    retry: { maxAttempts: 1, initialMs: 0, maxMs: 0, multiplier: 1 }, batching: {}, outputs,
  }
}

async function all(src: SourceInstance): Promise<Batch[]> {
  const out: Batch[] = []
  for await (const b of src.batches()) out.push(b)
  return out
}

t.test('text lines, in order, with an over-long line dead-lettered and counted', async (t) => {
  const dir = t.testdir()
  writeFileSync(join(dir, 'a.txt'), 'one\ntwo\n' + 'x'.repeat(100) + '\nthree\n')
  const dead: DeadLetterInput[] = []
  const src = await fileSource.build({ path: 'a.txt', format: 'text', maxLineLength: 50 }, context(dir, dead)) as SourceInstance
  const batches = await all(src)
  const text = Buffer.concat(batches.map((b) => (b.kind === 'lines' ? b.data : Buffer.alloc(0)))).toString()
  t.equal(text, 'one\ntwo\nthree\n')
  t.equal(dead.length, 1)
  t.equal(dead[0]!.source?.line, 3)
  t.strictSame(src.stats().records, 4, 'records read include the dead one')
  t.equal(src.locate?.(batches[0]!.ack, 1)?.line, 2, 'locate maps a record to its line')
})

t.test('a cursor keyed to the container: write-ahead entry per commit, resume after what committed', async (t) => {
  const dir = t.testdir()
  writeFileSync(join(dir, 'a.txt'), Array.from({ length: 10 }, (_, i) => `line ${i}`).join('\n') + '\n')
  const key = join(dir, 'never-written.maif')
  const src = await fileSource.build({ path: 'a.txt', format: 'text', cursor: 'c.cursor' }, context(dir, [], [{ type: 'container', label: 'c', key }])) as SourceInstance
  const [b] = await all(src)
  t.equal(b!.count, 10)
  // A commit of the first 4 records: the write-ahead names them, keyed by the tree size.
  await src.prepare!({ done: [], partial: { token: b!.ack, records: 4 } }, { output: 'c', key, treeSize: 7, records: 4 })
  const entry = JSON.parse(readFileSync(join(dir, 'c.cursor'), 'utf8').trim()) as { container: string; treeSize: number; files: Record<string, { line: number; done: boolean }> }
  t.equal(entry.container, key)
  t.equal(entry.treeSize, 7)
  t.strictSame(Object.values(entry.files)[0], { offset: 'line 0\nline 1\nline 2\nline 3\n'.length, line: 4, done: false })
  // A prepare for another output's commit writes nothing.
  await src.prepare!({ done: [b!.ack] }, { output: 'other', records: 10 })
  t.equal(readFileSync(join(dir, 'c.cursor'), 'utf8').trim().split('\n').length, 1)
  await src.close?.()
})

t.test('a cursor with no container: entries after commits, and a rebuilt source resumes there', async (t) => {
  const dir = t.testdir()
  writeFileSync(join(dir, 'a.txt'), 'a\nb\nc\n')
  const src = await fileSource.build({ path: 'a.txt', format: 'text', cursor: 'c.cursor' }, context(dir, [])) as SourceInstance
  const [b] = await all(src)
  await src.commit!({ done: [], partial: { token: b!.ack, records: 2 } })
  await src.close?.()
  const again = await fileSource.build({ path: 'a.txt', format: 'text', cursor: 'c.cursor' }, context(dir, [])) as SourceInstance
  const rest = await all(again)
  t.equal(Buffer.concat(rest.map((x) => (x.kind === 'lines' ? x.data : Buffer.alloc(0)))).toString(), 'c\n', 'only the record not committed is read again')
  await again.close?.()
})
