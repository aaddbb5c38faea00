// Dead letters: every record the engine cannot deliver (source rejections, schema violations, user-stage
// failures) is written to the dead-letter file with where it came from and its original text, and the run's
// counts reconcile exactly. Record stages keep records byte for byte unless they return a new record object.
import '../src/builtins.js'
import t, { type Test } from 'tap'
import { join } from 'node:path'
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { runPipeline, type RunReport } from '../src/core/runtime/engine.js'
import { componentsFromStages, recordStage } from '../src/core/runtime/registry.js'
import type { ComponentSpec } from '../src/core/runtime/component.js'
import { MaifError } from '../src/core/errors.js'
import type { PipelineDefinition } from '../src/core/runtime/pipeline-schema.js'
import { maif } from './helpers/cli.js'
import { freshKeyring, readContainer, readDeadLetters, splitLines, type DeadLetterEntry } from './helpers/engine.js'

const FIXTURE = fileURLToPath(new URL('fixtures/engine/dead-letters.jsonl', import.meta.url))
const fixtureLines = splitLines(readFileSync(FIXTURE, 'utf8'))
const L = (n: number): string => fixtureLines[n - 1]!

/** What each fixture line (1-based) is for: where it ends up, and why. */
const SOURCE_REJECTS: Record<number, RegExp> = { 3: /invalid JSON/, 4: /empty line/, 7: /maxLineLength/, 12: /invalid JSON/ }
const SCHEMA_REJECTS = [8, 9]
const STAGE_REJECTS: Record<number, { attempts: number; reason: RegExp }> = {
  5: { attempts: 3, reason: /transient failure for id 3/ }, // plain Error: retried up to maxAttempts
  6: { attempts: 1, reason: /record 4 is bad/ }, // MaifError MAIF_ERR_RECORD: permanent, no retry
}
const KEPT_AS_IS = [1, 2, 11, 14, 15] // returned unchanged by every stage: byte for byte
const REWRITTEN: Record<number, string> = {
  10: '{"id":7,"upper":"HELLO"}', // a new record with a new value
  13: '{"id":9,"reserialize":true,"v":1}', // a new record object with the same value: re-serialised
}

t.test('fixture shape (precondition)', async (t) => {
  t.equal(fixtureLines.length, 15)
  t.equal(L(4), '')
  t.equal(L(7).length, 1000)
  t.doesNotThrow(() => JSON.parse(L(7)), 'the over-long line is valid JSON: only its length rejects it')
  t.throws(() => JSON.parse(L(3)))
  t.throws(() => JSON.parse(L(12)))
})

interface Calls { failOnX: Map<number, number> }

function registry(calls: Calls): ComponentSpec[] {
  const flakyDone = new Set<number>()
  return componentsFromStages({
    'fail-on-x': recordStage((rec) => {
      const v = rec.value as { id: number; x?: boolean; y?: boolean; flaky?: boolean }
      calls.failOnX.set(v.id, (calls.failOnX.get(v.id) ?? 0) + 1)
      if (v.x === true) throw new Error(`transient failure for id ${v.id}`)
      if (v.y === true) throw new MaifError('MAIF_ERR_RECORD', `record ${v.id} is bad`)
      if (v.flaky === true && !flakyDone.has(v.id)) {
        flakyDone.add(v.id)
        throw new Error(`flaky once for id ${v.id}`)
      }
      return rec
    }),
    rewrite: recordStage((rec) => {
      const v = rec.value as Record<string, unknown>
      if (typeof v.upper === 'string') return { value: { ...v, upper: v.upper.toUpperCase() }, raw: rec.raw }
      if (v.reserialize === true) return { ...rec } // same value, but a new object
      return rec
    }),
  })
}

function definition(input: string, dir: string, keyring: string, extra: Partial<PipelineDefinition> = {}): PipelineDefinition {
  return {
    name: 'dead-letters',
    source: { type: 'file', path: input, format: 'jsonl', maxLineLength: 200, label: 'fixture-in' },
    transforms: [
      { type: 'validate-json', label: 'schema-check', schema: { type: 'object', required: ['id'], properties: { id: { type: 'integer' } } } },
      { type: 'fail-on-x', label: 'failer' },
      { type: 'rewrite', label: 'rewriter' },
      { type: 'frame', blockRecords: 2 },
      { type: 'compress' },
      { type: 'encrypt', keyring },
      { type: 'chain' },
      { type: 'sign' },
    ],
    sink: { type: 'container', path: join(dir, 'out.maif') },
    deadLetter: { type: 'file', path: join(dir, 'dl', 'dead.jsonl') },
    retry: { maxAttempts: 3, backoff: { initialMs: 1, maxMs: 2 } },
    ...extra,
  }
}

/** Runs the pipeline over the given fixture lines (numbers are fixture line numbers) and checks everything. */
async function check(t: Test, lineNos: number[]): Promise<void> {
  const dir = t.testdir()
  const keys = await freshKeyring(dir)
  // The whole fixture is read in place (dead letters then name it); a subset goes through a copy.
  const whole = lineNos.length === fixtureLines.length && lineNos.every((n, i) => n === i + 1)
  const input = whole ? FIXTURE : join(dir, 'input.jsonl')
  if (!whole) writeFileSync(input, lineNos.map(L).join('\n') + '\n')
  const at = (fixtureLine: number): number => lineNos.indexOf(fixtureLine) + 1 // line number in `input`
  const calls: Calls = { failOnX: new Map() }
  const report: RunReport = await runPipeline(definition(input, dir, keys.dir), { components: registry(calls), cwd: dir })

  const src = lineNos.filter((n) => n in SOURCE_REJECTS)
  const schema = lineNos.filter((n) => SCHEMA_REJECTS.includes(n))
  const stage = lineNos.filter((n) => n in STAGE_REJECTS)
  const survivors = lineNos.filter((n) => KEPT_AS_IS.includes(n) || n in REWRITTEN)
  const deadCount = src.length + schema.length + stage.length

  t.test('counts reconcile exactly', async (t) => {
    t.equal(report.status, 'completed')
    t.equal(report.recordsIn, lineNos.length, 'recordsIn = lines in the input')
    t.equal(report.deadLetters, deadCount)
    t.equal(report.delivered, survivors.length)
    t.equal(report.dropped, 0)
    t.equal(report.delivered + report.deadLetters, report.recordsIn, 'delivered + deadLetters = recordsIn')
    t.equal(report.reconciled, true)
    t.equal(report.outputs[0]?.records, survivors.length)
    t.equal(report.deadLetterFile, join(dir, 'dl', 'dead.jsonl'))
  })

  const dl = readDeadLetters(join(dir, 'dl', 'dead.jsonl'))
  t.test('every dead letter is complete', async (t) => {
    t.equal(dl.length, deadCount)
    for (const d of dl) {
      for (const k of ['stage', 'label', 'code', 'reason', 'attempts', 'raw', 'source'] as const) t.ok(k in d, `${k} present in ${JSON.stringify(d).slice(0, 80)}`)
      t.type(d.reason, 'string')
      t.ok(d.reason.length > 0)
      t.type(d.attempts, 'number')
      t.equal(d.source?.file, input, 'source.file is the input file')
      t.ok(!Number.isNaN(Date.parse(d.time)))
    }
    t.strictSame([...dl.map((d) => d.raw)].sort(), [...src, ...schema, ...stage].map(L).sort(), 'raw is the exact original line of each dead record')
  })

  const byRaw = (raw: string): DeadLetterEntry | undefined => dl.find((d) => d.raw === raw)
  t.test('source rejections carry their line numbers', async (t) => {
    const rejected = dl.filter((d) => d.stage === 'source')
    t.strictSame(rejected.map((d) => d.source?.line).sort((a, b) => (a ?? 0) - (b ?? 0)), src.map(at), 'lines of the rejected input lines')
    for (const n of src) {
      const d = rejected.find((r) => r.source?.line === at(n))
      t.ok(d, `input line ${at(n)} (fixture line ${n}) is dead-lettered by the source`)
      if (!d) continue
      t.equal(d.label, 'fixture-in', 'the source label')
      t.equal(d.code, 'MAIF_ERR_RECORD')
      t.equal(d.attempts, 1)
      t.match(d.reason, SOURCE_REJECTS[n]!)
      t.equal(d.raw, L(n), `fixture line ${n}: raw is the exact original line`)
    }
  })

  t.test('validate-json rejections', async (t) => {
    for (const n of schema) {
      const d = byRaw(L(n))
      t.ok(d, `fixture line ${n} dead-lettered`)
      t.equal(d?.stage, 'validate-json')
      t.equal(d?.label, 'schema-check')
      t.equal(d?.code, 'MAIF_ERR_RECORD')
      t.equal(d?.attempts, 1, 'a schema violation is permanent: no retry')
      t.match(d?.reason, /schema violation/)
      if (d?.source?.line !== undefined) t.equal(d.source.line, at(n), 'a record-stage rejection, when it has a line number, has the right one')
    }
    t.match(byRaw(L(8))?.reason, /\/id/)
  })

  t.test('user stage rejections: retried plain errors, permanent MAIF_ERR_RECORD', async (t) => {
    for (const n of stage) {
      const d = byRaw(L(n))
      t.ok(d, `fixture line ${n} dead-lettered`)
      if (d?.source?.line !== undefined) t.equal(d.source.line, at(n), 'a record-stage rejection, when it has a line number, has the right one')
      t.equal(d?.stage, 'fail-on-x')
      t.equal(d?.label, 'failer')
      t.equal(d?.code, 'MAIF_ERR_RECORD')
      t.equal(d?.attempts, STAGE_REJECTS[n]!.attempts)
      t.match(d?.reason, STAGE_REJECTS[n]!.reason)
    }
    t.equal(calls.failOnX.get(3), 3, 'x: called maxAttempts (3) times')
    t.equal(calls.failOnX.get(4), 1, 'y: called once')
    t.equal(calls.failOnX.get(10), 2, 'flaky: failed once, delivered on the retry')
    t.equal(calls.failOnX.get(1), 1)
    t.notOk(calls.failOnX.has(NaN), 'schema-rejected records never reach the next stage')
    t.equal([...calls.failOnX.keys()].filter((k) => typeof k !== 'number').length, 0)
  })

  t.test('the container holds exactly the surviving records, in order', async (t) => {
    const back = await readContainer(join(dir, 'out.maif'), keys.keyring)
    t.equal(back.result.ok, true, JSON.stringify(back.result.errors))
    t.equal(back.result.records, survivors.length)
    t.strictSame(back.lines, survivors.map((n) => REWRITTEN[n] ?? L(n)))
    // Found by content (not position), so that these hold whatever else ended up in the container.
    const id = (n: number): string | undefined => back.lines.find((l) => (JSON.parse(l) as { id?: unknown }).id === (JSON.parse(L(n)) as { id?: unknown }).id)
    t.equal(id(11), '{"id": 8,  "spaced" : true}', 'a record returned as the same object keeps its bytes (odd spacing and all)')
    t.equal(id(1), L(1))
    t.equal(id(10), '{"id":7,"upper":"HELLO"}', 'a new record object is stored re-serialised')
    t.not(id(13), L(13), 'a new record object with an equal value changes the stored bytes')
    t.strictSame(JSON.parse(id(13) ?? 'null'), JSON.parse(L(13)), '... but keeps the value')
  })
}

t.test('the whole fixture (malformed, empty, over-long, schema, user-stage failures)', async (t) => {
  await check(t, fixtureLines.map((_, i) => i + 1))
})

t.test('the same without the over-long line (isolates the maxLineLength handling)', async (t) => {
  await check(t, fixtureLines.map((_, i) => i + 1).filter((n) => n !== 7))
})

t.test('an over-long line alone is dead-lettered with its line number', async (t) => {
  const dir = t.testdir()
  const keys = await freshKeyring(dir)
  const input = join(dir, 'long.jsonl')
  writeFileSync(input, [L(1), L(7), L(2)].join('\n') + '\n')
  const report = await runPipeline(definition(input, dir, keys.dir, { transforms: [{ type: 'frame' }, { type: 'compress' }, { type: 'encrypt', keyring: keys.dir }, { type: 'chain' }, { type: 'sign' }] }), { cwd: dir })
  t.equal(report.recordsIn, 3)
  t.equal(report.deadLetters, 1, 'the 1,000-byte line exceeds maxLineLength 200')
  t.equal(report.delivered, 2)
  const back = await readContainer(join(dir, 'out.maif'), keys.keyring)
  t.strictSame(back.lines, [L(1), L(2)], 'the over-long line is not in the container')
  const dl = readDeadLetters(join(dir, 'dl', 'dead.jsonl'))
  t.strictSame(dl.map((d) => [d.stage, d.source?.line, d.code]), [['source', 2, 'MAIF_ERR_RECORD']])
  t.match(dl[0]?.reason, /maxLineLength/)
  t.equal(dl[0]?.raw, L(7), 'raw is the exact original line')
})

t.test('a line longer than a read chunk (2 MiB, maxLineLength 200) is dead-lettered and the lines after it are kept', async (t) => {
  const dir = t.testdir()
  const keys = await freshKeyring(dir)
  const input = join(dir, 'huge.jsonl')
  const huge = `{"big":"${'z'.repeat(2 << 20)}"}`
  writeFileSync(input, [L(1), huge, L(2), L(15)].join('\n') + '\n')
  const report = await runPipeline(definition(input, dir, keys.dir, { transforms: [{ type: 'frame' }, { type: 'compress' }, { type: 'encrypt', keyring: keys.dir }, { type: 'chain' }, { type: 'sign' }] }), { cwd: dir })
  t.equal(report.recordsIn, 4)
  t.equal(report.deadLetters, 1)
  t.equal(report.delivered, 3)
  t.equal(report.reconciled, true)
  const back = await readContainer(join(dir, 'out.maif'), keys.keyring)
  t.strictSame(back.lines, [L(1), L(2), L(15)])
  const dl = readDeadLetters(join(dir, 'dl', 'dead.jsonl'))
  t.strictSame(dl.map((d) => [d.stage, d.source?.file, d.source?.line, d.attempts]), [['source', input, 2, 1]])
  t.match(dl[0]?.reason, /maxLineLength/)
})

t.test('without a dead-letter output a failing record fails the run, cleanly', async (t) => {
  const dir = t.testdir()
  const input = join(dir, 'in.jsonl')
  writeFileSync(input, [L(1), L(3)].join('\n') + '\n')
  const unhandled: unknown[] = []
  const onUnhandled = (err: unknown): void => { unhandled.push(err) }
  process.on('unhandledRejection', onUnhandled)
  t.teardown(() => { process.off('unhandledRejection', onUnhandled) })
  await t.rejects(runPipeline({ source: { type: 'file', path: input, format: 'jsonl' }, sink: { type: 'file', path: join(dir, 'out.jsonl') } }, { cwd: dir }), { code: 'MAIF_ERR_RECORD', message: /no deadLetter output/ })
  await new Promise((r) => setTimeout(r, 100))
  t.strictSame(unhandled.map((e) => (e as Error).message), [], 'the failure is reported by runPipeline only: no unhandled rejection left behind')

  // The CLI turns it into its one-line error message (no uncaught-exception crash with a stack trace).
  writeFileSync(join(dir, 'p.yaml'), `source: { type: file, path: ${JSON.stringify(input)}, format: jsonl }\nsink: { type: file, path: ${JSON.stringify(join(dir, 'cli-out.jsonl'))} }\n`)
  const r = await maif(['run', join(dir, 'p.yaml'), '--json', '--no-progress', '--log-level', 'silent'])
  t.equal(r.code, 1)
  t.equal(r.stdout, '')
  t.match(r.stderr, /^maif run: MAIF_ERR_RECORD: a record failed .* no deadLetter output$/m)
  t.notMatch(r.stderr, /triggerUncaughtException|\n\s+at /, 'no stack trace')
})
