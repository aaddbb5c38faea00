// The YAML and the TypeScript version of the agent-logs example are the same pipeline: run through the engine
// (and through `maif run`), both write containers that verify and decrypt to the same records: the valid
// lines of samples/agent-logs.jsonl, in order. The three malformed lines of the sample are dead-lettered.
import '../src/builtins.js'
import t from 'tap'
import { join } from 'node:path'
import { existsSync, readFileSync } from 'node:fs'
import { loadPipelineFile } from '../src/core/runtime/pipeline-def.js'
import { runPipeline, type RunReport } from '../src/core/runtime/engine.js'
import { maif } from './helpers/cli.js'
import { freshKeyring, readContainer, readDeadLetters, repoPath, REPO, splitLines, validJsonLines } from './helpers/engine.js'

const SAMPLE = repoPath('samples/agent-logs.jsonl')
const YAML = repoPath('pipelines/agent-logs-to-container.yaml')
const TS = repoPath('pipelines/agent-logs-to-container.ts')
const sampleLines = splitLines(readFileSync(SAMPLE, 'utf8'))
const goodLines = validJsonLines(SAMPLE)

t.test('the sample has valid lines and exactly three malformed ones (precondition)', async (t) => {
  t.equal(sampleLines.length - goodLines.length, 3)
  t.ok(goodLines.length > 1000)
})

t.test('YAML and TS pipelines write containers with the same records', async (t) => {
  const dir = t.testdir()
  const keys = await freshKeyring(dir)
  const run = async (file: string, out: string): Promise<RunReport> => {
    const loaded = await loadPipelineFile(file, { env: { MAIF_KEYRING: keys.dir, MAIF_OUT: out } })
    t.equal(loaded.definition.transforms?.find((s) => s.type === 'encrypt')?.keyring, keys.dir, `${file}: keyring interpolated from env`)
    t.equal(loaded.definition.sink?.type === 'container' ? loaded.definition.sink.path : undefined, out, `${file}: MAIF_OUT interpolated`)
    return runPipeline(loaded.definition, { components: loaded.components ?? [], cwd: REPO })
  }
  const outYaml = join(dir, 'yaml', 'agent-logs.maif')
  const outTs = join(dir, 'ts', 'agent-logs.maif')
  const ry = await run(YAML, outYaml)
  const rt = await run(TS, outTs)

  for (const [name, r, out] of [['yaml', ry, outYaml], ['ts', rt, outTs]] as const) {
    t.test(`${name} report`, async (t) => {
      t.equal(r.status, 'completed')
      t.equal(r.recordsIn, sampleLines.length, 'every line of the sample was read')
      t.equal(r.delivered, goodLines.length)
      t.equal(r.deadLetters, 3)
      t.equal(r.dropped, 0)
      t.equal(r.recordsIn, r.delivered + r.deadLetters, 'recordsIn = delivered + deadLetters')
      t.equal(r.reconciled, true)
      t.equal(r.outputs.length, 1)
      t.equal(r.outputs[0]?.type, 'container')
      t.equal(r.outputs[0]?.path, out)
      t.equal(r.outputs[0]?.records, goodLines.length)
      t.ok((r.outputs[0]?.commits ?? 0) >= 1)
      t.equal(r.deadLetterFile, `${out}.dead-letter.jsonl`)
      const dl = readDeadLetters(`${out}.dead-letter.jsonl`)
      t.equal(dl.length, 3)
      for (const d of dl) {
        t.equal(d.stage, 'source')
        t.equal(d.code, 'MAIF_ERR_RECORD')
        t.equal(d.source?.file, SAMPLE)
        t.equal(sampleLines[(d.source?.line ?? 0) - 1], d.raw, `line ${d.source?.line} recorded with its exact text`)
      }
    })
  }

  const a = await readContainer(outYaml, keys.keyring)
  const b = await readContainer(outTs, keys.keyring)
  t.equal(a.result.ok, true, JSON.stringify(a.result.errors))
  t.equal(b.result.ok, true, JSON.stringify(b.result.errors))
  t.equal(a.result.pinned, true)
  t.equal(a.result.decrypted, true)
  t.strictSame(a.result.warnings, [], 'encrypted: no plaintext warning')
  t.equal(a.result.records, goodLines.length)
  t.equal(b.result.records, goodLines.length)
  t.ok(a.blocks.every((x) => x.type === 'JSON'), 'blockType JSON')
  t.strictSame(a.lines, goodLines, 'YAML container = the valid sample lines, in order, byte for byte')
  t.strictSame(b.lines, a.lines, 'TS container holds the identical sequence of records')
  t.ok(a.bytes.equals(b.bytes))
  t.not(readFileSync(outYaml).includes(Buffer.from(goodLines[0]!)), true, 'the record text is not in the file in clear')
})

t.test('maif run --json --no-progress: same report, exit 0', async (t) => {
  const dir = t.testdir()
  const keys = await freshKeyring(dir)
  for (const file of [YAML, TS]) {
    const out = join(dir, file.endsWith('.ts') ? 'ts' : 'yaml', 'agent-logs.maif')
    const r = await maif(['run', file, '--json', '--no-progress'], { env: { MAIF_KEYRING: keys.dir, MAIF_OUT: out } })
    t.equal(r.code, 0, r.stderr)
    const lines = splitLines(r.stdout)
    t.equal(lines.length, 1, 'stdout holds the JSON report alone')
    const report = JSON.parse(lines[0]!) as RunReport
    t.equal(report.pipeline, 'agent-logs-to-container')
    t.equal(report.status, 'completed')
    t.equal(report.recordsIn, sampleLines.length)
    t.equal(report.delivered, goodLines.length)
    t.equal(report.deadLetters, 3)
    t.equal(report.reconciled, true)
    t.equal(report.outputs[0]?.path, out)
    t.equal(report.outputs[0]?.records, goodLines.length)
    t.equal(report.deadLetterFile, `${out}.dead-letter.jsonl`)
    t.ok(existsSync(`${out}.dead-letter.jsonl`))
    const back = await readContainer(out, keys.keyring)
    t.equal(back.result.ok, true, JSON.stringify(back.result.errors))
    t.strictSame(back.lines, goodLines, `${file}: container = valid sample lines`)
  }
})
