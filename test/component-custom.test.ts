// A pipeline outside src/ (pipelines/custom-components.ts) registers its own source, a transform that emits
// records of another block type beside the ones it reads, and a sink, and runs end to end: through the API
// and through `maif run`. The source hears acknowledgements for every batch, in order, only once every output
// has the records; the container holds both block types and verifies.
import '../src/builtins.js'
import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadPipelineFile } from '../src/core/runtime/pipeline-def.js'
import { runPipeline } from '../src/core/runtime/engine.js'
import { maif } from './helpers/cli.js'
import { freshKeyring, readContainer, repoPath, REPO } from './helpers/engine.js'

const PIPELINE = repoPath('pipelines/custom-components.ts')
const EVENTS = 1000
const TAGGED = Math.ceil(EVENTS / 3) // every third event used a tool

async function check(t: Test, out: string, keys: Awaited<ReturnType<typeof freshKeyring>>): Promise<void> {
  const back = await readContainer(`${out}.maif`, keys.keyring)
  t.equal(back.result.ok, true, 'the container verifies against the pinned key and decrypts')
  const json = back.blocks.filter((b) => b.type === 'JSON')
  const tags = back.blocks.filter((b) => b.type === 'XTAG')
  const lines = (bs: typeof json): string[] => bs.flatMap((b) => b.data.toString('utf8').split('\n').filter(Boolean))
  t.equal(lines(json).length, EVENTS, 'every event, in JSON blocks')
  t.strictSame(lines(json).map((l) => (JSON.parse(l) as { seq: number }).seq), Array.from({ length: EVENTS }, (_, i) => i), 'in order')
  t.equal(lines(tags).length, TAGGED, 'one XTAG record per event that used a tool, in XTAG blocks')
  t.ok(lines(tags).every((l) => (JSON.parse(l) as { tag: string }).tag === 'tool:search'))
  t.strictSame(JSON.parse(readFileSync(`${out}.tally.json`, 'utf8')), { json: EVENTS, XTAG: TAGGED }, 'the custom sink saw both block types')
  const acks = JSON.parse(readFileSync(`${out}.acks.json`, 'utf8')) as { acknowledgedBatches: number; firstStarts: number[]; prepared: number }
  t.equal(acks.acknowledgedBatches, EVENTS / 100, 'every batch acknowledged once')
  t.strictSame(acks.firstStarts, [0, 100, 200], 'in source order')
  t.ok(acks.prepared >= 1, 'the write-ahead ran before the container committed')
}

t.test('through the API', async (t) => {
  const dir = t.testdir()
  const keys = await freshKeyring(dir)
  const out = join(dir, 'custom')
  const loaded = await loadPipelineFile(PIPELINE, { env: { MAIF_KEYRING: keys.dir, MAIF_OUT: out } })
  t.strictSame((loaded.components ?? []).map((c) => `${c.kind}:${c.type}`), ['source:agent-events', 'transform:tag-tools', 'sink:tally'])
  const r = await runPipeline(loaded.definition, { components: loaded.components ?? [], cwd: REPO })
  t.equal(r.reconciled, true)
  t.equal(r.delivered, EVENTS)
  t.equal(r.emitted, TAGGED, 'records the transform added are counted apart')
  t.strictSame(r.outputs.map((o) => [o.type, o.records]), [['container', EVENTS + TAGGED], ['tally', EVENTS + TAGGED]])
  await check(t, out, keys)
})

t.test('through maif run (a child process)', async (t) => {
  const dir = t.testdir()
  const keys = await freshKeyring(dir)
  const out = join(dir, 'custom')
  const r = await maif(['run', PIPELINE, '--json', '--no-progress', '--log-level', 'warn'], { env: { MAIF_KEYRING: keys.dir, MAIF_OUT: out } })
  t.equal(r.code, 0, r.stderr)
  t.equal((JSON.parse(r.stdout) as { emitted: number }).emitted, TAGGED)
  await check(t, out, keys)
  const lint = await maif(['lint', '--verbose', PIPELINE])
  t.equal(lint.code, 0, lint.stdout)
})

t.test('a custom component refuses bad options with the pipeline error, before anything runs', async (t) => {
  const dir = t.testdir()
  const keys = await freshKeyring(dir)
  const r = await maif(['run', PIPELINE, '--set', 'source.count=-1', '--no-progress'], { env: { MAIF_KEYRING: keys.dir, MAIF_OUT: join(dir, 'x') } })
  t.equal(r.code, 2)
  t.match(r.stderr, /MAIF_ERR_PIPELINE_DEF/)
  t.match(r.stderr, /source\.count/)
})
