// Fan-out: `mode: all` sends every record to every output; `mode: fallback` sends each record to the first
// output that works and, when one fails, moves on without losing or duplicating records. Build-time refusals
// (a container without encryption, an unknown plugin stage) happen before anything is written.
import '../src/builtins.js'
import t, { type Test } from 'tap'
import { join } from 'node:path'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { runPipeline, type RunReport } from '../src/core/runtime/engine.js'
import type { PipelineDefinition } from '../src/core/runtime/pipeline-schema.js'
import { errorOf, freshKeyring, readContainer, splitLines } from './helpers/engine.js'

/** N JSONL records, with irregular spacing so that byte-for-byte copies are distinguishable from re-serialised ones. */
function records(n: number, pad = 0): string[] {
  return Array.from({ length: n }, (_, i) => (i % 3 === 0 ? `{"i": ${i},  "msg" : "record ${i}"${pad ? `, "pad": "${'x'.repeat(pad)}"` : ''}}` : `{"i":${i},"msg":"record ${i}"${pad ? `,"pad":"${'y'.repeat(pad)}"` : ''}}`))
}

const BLOCK_STAGES = (keyring: string): PipelineDefinition['transforms'] => [
  { type: 'frame', blockRecords: 100 },
  { type: 'compress', codec: 'zstd' },
  { type: 'encrypt', keyring },
  { type: 'chain' },
  { type: 'sign' },
]

/** Every line exactly once, in order, whichever outputs it landed in. */
function exactlyOnce(t: Test, got: string[], want: string[], what: string): void {
  t.equal(got.length, want.length, `${what}: as many records as the input`)
  const seen = new Map<string, number>()
  for (const l of got) seen.set(l, (seen.get(l) ?? 0) + 1)
  t.equal([...seen.values()].filter((c) => c > 1).length, 0, `${what}: no record twice`)
  t.equal(want.filter((l) => !seen.has(l)).length, 0, `${what}: no record missing`)
}

t.test('mode all: two containers and a JSONL file each get every record', async (t) => {
  const dir = t.testdir()
  const keys = await freshKeyring(dir)
  const lines = records(1234)
  const input = join(dir, 'in.jsonl')
  writeFileSync(input, lines.join('\n') + '\n')
  const [A, B, C] = [join(dir, 'a', 'A.maif'), join(dir, 'b', 'B.maif'), join(dir, 'c', 'C.jsonl')]
  const report = await runPipeline({
    name: 'fanout-all',
    source: { type: 'file', path: input, format: 'jsonl' },
    transforms: BLOCK_STAGES(keys.dir),
    sinks: { mode: 'all', outputs: [{ type: 'container', path: A, label: 'a' }, { type: 'container', path: B, label: 'b' }, { type: 'file', path: C }] },
  }, { cwd: dir })
  t.equal(report.status, 'completed')
  t.equal(report.recordsIn, lines.length)
  t.equal(report.delivered, lines.length)
  t.equal(report.deadLetters, 0)
  t.equal(report.reconciled, true)
  t.strictSame(report.outputs.map((o) => [o.type, o.path, o.records]), [['container', A, lines.length], ['container', B, lines.length], ['file', C, lines.length]])
  t.ok(report.outputs[0]!.commits >= 1 && report.outputs[1]!.commits >= 1)
  t.equal(report.deadLetterFile, null, 'no dead letters, no dead-letter file')
  for (const p of [A, B]) {
    const back = await readContainer(p, keys.keyring)
    t.equal(back.result.ok, true, `${p}: ${JSON.stringify(back.result.errors)}`)
    t.equal(back.result.records, lines.length)
    t.equal(back.blocks.length, Math.ceil(lines.length / 100), 'frame.blockRecords applies to each container')
    t.strictSame(back.lines, lines, `${p} holds every record, in order, byte for byte`)
  }
  t.not((await readContainer(A, keys.keyring)).result.containerId, (await readContainer(B, keys.keyring)).result.containerId, 'two distinct containers')
  t.ok(readFileSync(C).equals(readFileSync(input)), 'the JSONL output is the input, byte for byte')
})

t.test('mode fallback: a failing file output (/dev/full) hands over to the next; each record lands once', { skip: !existsSync('/dev/full') && 'no /dev/full' }, async (t) => {
  for (const [name, lines] of [['one small batch', records(50)], ['several batches (> 1 MiB of input)', records(6000, 400)]] as const) {
    t.test(name, async (t) => {
      const dir = t.testdir()
      const input = join(dir, 'in.jsonl')
      writeFileSync(input, lines.join('\n') + '\n')
      const D = join(dir, 'D.jsonl')
      const def: PipelineDefinition = {
        source: { type: 'file', path: input, format: 'jsonl' },
        sinks: { mode: 'fallback', outputs: [{ type: 'file', path: '/dev/full' }, { type: 'file', path: D }] },
        deadLetter: { type: 'file', path: join(dir, 'dead.jsonl') },
      }
      let report: RunReport | undefined
      const err = await errorOf(runPipeline(def, { cwd: dir }).then((r) => { report = r }))
      t.equal(err, undefined, `the run completes (${err?.message})`)
      t.equal(report?.status, 'completed')
      t.equal(report?.delivered, lines.length)
      t.equal(report?.reconciled, true)
      t.equal(report?.outputs[0]?.path, '/dev/full')
      t.equal(report?.outputs[0]?.records, 0, 'nothing counted as written to /dev/full')
      t.equal(report?.outputs[1]?.records, lines.length, 'the fallback output counts every record')
      const got = existsSync(D) ? splitLines(readFileSync(D, 'utf8')) : []
      exactlyOnce(t, got, lines, 'D')
      t.strictSame(got, lines, 'D holds every record exactly once, in order')
      t.notOk(existsSync(join(dir, 'dead.jsonl')), 'no dead letters')
    })
  }
})

t.test('mode fallback: container first, file second: every record reaches exactly one output', async (t) => {
  const dir = t.testdir()
  const keys = await freshKeyring(dir)
  const lines = records(777)
  const input = join(dir, 'in.jsonl')
  writeFileSync(input, lines.join('\n') + '\n')
  const [A, D] = [join(dir, 'A.maif'), join(dir, 'D.jsonl')]
  const report = await runPipeline({
    source: { type: 'file', path: input, format: 'jsonl' },
    transforms: BLOCK_STAGES(keys.dir),
    sinks: { mode: 'fallback', outputs: [{ type: 'container', path: A }, { type: 'file', path: D }] },
  }, { cwd: dir })
  t.equal(report.status, 'completed')
  t.equal(report.delivered, lines.length)
  t.equal(report.reconciled, true)
  t.strictSame(report.outputs.map((o) => [o.type, o.path]), [['container', A], ['file', D]])
  t.equal(report.outputs.reduce((a, o) => a + o.records, 0), lines.length, 'the outputs\' record counts add up to the input')
  const back = await readContainer(A, keys.keyring)
  t.equal(back.result.ok, true, JSON.stringify(back.result.errors))
  const inFile = existsSync(D) ? splitLines(readFileSync(D, 'utf8')) : []
  t.equal(back.result.records, report.outputs[0]!.records, 'the container holds what the report says')
  t.equal(inFile.length, report.outputs[1]!.records, 'the file holds what the report says')
  exactlyOnce(t, [...back.lines, ...inFile], lines, 'container + file')
  t.strictSame(back.lines, lines, 'a working first output takes everything')
})

t.test('mode all: when one output fails the run fails cleanly (no unhandled rejection)', { skip: !existsSync('/dev/full') && 'no /dev/full' }, async (t) => {
  const dir = t.testdir()
  const keys = await freshKeyring(dir)
  const input = join(dir, 'in.jsonl')
  writeFileSync(input, records(300).join('\n') + '\n')
  const unhandled: unknown[] = []
  const onUnhandled = (e: unknown): void => { unhandled.push(e) }
  process.on('unhandledRejection', onUnhandled)
  t.teardown(() => { process.off('unhandledRejection', onUnhandled) })
  const err = await errorOf(runPipeline({
    source: { type: 'file', path: input, format: 'jsonl' },
    transforms: BLOCK_STAGES(keys.dir),
    sinks: { mode: 'all', outputs: [{ type: 'container', path: join(dir, 'A.maif') }, { type: 'file', path: '/dev/full' }] },
  }, { cwd: dir }))
  t.equal(err?.code, 'MAIF_ERR_IO', `the run fails with the output's error (${err?.message})`)
  await new Promise((r) => setTimeout(r, 100))
  t.strictSame(unhandled.map((e) => (e as Error).message), [], 'no unhandled rejection from the other outputs')
})

t.test('a container without an encrypt stage is refused unless requireEncryption is false', async (t) => {
  const dir = t.testdir()
  const keys = await freshKeyring(dir)
  const input = join(dir, 'in.jsonl')
  const lines = records(20)
  writeFileSync(input, lines.join('\n') + '\n')
  const plain = (security?: PipelineDefinition['security']): PipelineDefinition => ({
    source: { type: 'file', path: input, format: 'jsonl' },
    transforms: [{ type: 'frame' }, { type: 'compress', codec: 'none' }, { type: 'chain' }, { type: 'sign' }],
    sink: { type: 'container', path: join(dir, 'plain.maif') },
    security: { keyring: keys.dir, ...security },
  })
  const refused = await errorOf(runPipeline(plain(), { cwd: dir }))
  t.ok(refused, 'refused')
  // Refused when the definition is checked, before anything runs: a definition error naming the rule.
  t.equal(refused?.code, 'MAIF_ERR_PIPELINE_DEF', `refused as a definition error (got ${refused?.code}: ${refused?.message})`)
  t.match(refused?.message, /container-requires-encrypt/)
  t.match(refused?.message, /encrypt/)
  t.notOk(existsSync(join(dir, 'plain.maif')), 'no container was created')
  t.equal((await errorOf(runPipeline(plain({ requireEncryption: true }), { cwd: dir })))?.code, refused?.code, 'requireEncryption: true is the default')

  const report = await runPipeline(plain({ requireEncryption: false }), { cwd: dir })
  t.equal(report.status, 'completed')
  t.equal(report.delivered, lines.length)
  const back = await readContainer(join(dir, 'plain.maif'), keys.keyring)
  t.equal(back.result.ok, true, JSON.stringify(back.result.errors))
  t.strictSame(back.lines, lines)
  t.match(back.result.warnings.join('\n'), /recorded as plaintext/, 'verify warns that the container is plaintext')
  t.ok(readFileSync(join(dir, 'plain.maif')).includes(Buffer.from(lines[1]!)), 'the records are in the file in clear (codec none, no encryption)')
})

t.test('an unknown plugin stage fails at build time, before any file is created', async (t) => {
  const dir = t.testdir()
  const keys = await freshKeyring(dir)
  const input = join(dir, 'in.jsonl')
  writeFileSync(input, records(5).join('\n') + '\n')
  const before = readdirSync(dir).sort()
  const err = await errorOf(runPipeline({
    source: { type: 'file', path: input, format: 'jsonl' },
    transforms: [{ type: 'redact-everything' }, ...BLOCK_STAGES(keys.dir)!],
    sinks: { mode: 'all', outputs: [{ type: 'container', path: join(dir, 'out', 'A.maif') }, { type: 'file', path: join(dir, 'out2', 'C.jsonl') }] },
    deadLetter: { type: 'file', path: join(dir, 'dl', 'dead.jsonl') },
  }, { cwd: dir }))
  t.equal(err?.code, 'MAIF_ERR_PIPELINE_DEF')
  t.match(err?.message, /redact-everything/)
  t.match((err?.issues as Array<{ rule: string }> | undefined)?.map((i) => i.rule), ['schema/unknown-type'])
  t.strictSame(readdirSync(dir).sort(), before, 'no output, dead-letter file or directory was created')
})
