import '../src/builtins.js'
import t from 'tap'
import { fileURLToPath } from 'node:url'
import {
  checkPipeline,
  definePipeline,
  formatIssue,
  lintPipelineSource,
  loadPipelineFile,
  parseSetArgs,
  PipelineDefError,
  validatePipeline,
  type PipelineDefinition,
} from '../src/core/runtime/pipeline-def.js'
import { z } from 'zod'
import { builtins, defineTransform } from '../src/core/runtime/component.js'
import type { Batch } from '../src/core/runtime/types.js'
import { resolveKeyringDir } from '../src/core/format/keyring.js'
import {
  encryptionRequired,
  parseDurationMs,
  pipelineJsonSchema,
  pipelineSchema,
  resolveDeadLetter,
  resolveSinks,
} from '../src/core/runtime/pipeline-schema.js'
import { interpolate, interpolateString, interpolateValue } from '../src/core/runtime/env-interpolate.js'

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url))
const EXAMPLE_YAML = here('../pipelines/agent-logs-to-container.yaml')
const EXAMPLE_BATCH = here('../pipelines/batch-directory-ingest.yaml')
const EXAMPLE_TS = here('../pipelines/custom-stage.ts')
const FIX = (name: string): string => here(`fixtures/pipelines/${name}`)

const minimal = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  source: { type: 'stdin', format: 'jsonl' },
  sink: { type: 'stdout' },
  ...extra,
})
const rules = (issues: readonly { rule: string }[]): string[] => issues.map((i) => i.rule)

t.test('the YAML, JSON and TypeScript examples load to equivalent definitions', async (t) => {
  const yaml = await loadPipelineFile(EXAMPLE_YAML, { env: {} })
  const json = await loadPipelineFile(FIX('agent-logs.json'), { env: {} })
  const ts = await loadPipelineFile(EXAMPLE_TS, { env: {} })
  t.equal(yaml.source.format, 'yaml')
  t.equal(json.source.format, 'json')
  t.equal(ts.source.format, 'ts')
  t.equal(yaml.source.file, EXAMPLE_YAML)
  t.strictSame(yaml.warnings, [])

  // the JSON fixture is the YAML example written as JSON (tab-indented)
  t.strictSame(json.definition, yaml.definition)

  // the TS example is the same pipeline plus a plugin stage and another name
  const { name: tsName, transforms: tsStages, ...tsRest } = ts.definition
  const { name: yamlName, transforms: yamlStages, ...yamlRest } = yaml.definition
  t.equal(tsName, 'agent-logs-redacted')
  t.equal(yamlName, 'agent-logs-to-container')
  t.strictSame(tsRest, yamlRest)
  t.strictSame(tsStages?.slice(1), yamlStages)
  t.strictSame(tsStages?.[0], { type: 'redact-emails', label: 'pii-redaction', fields: ['text', 'output'], replacement: '[redacted-email]' })

  // defaults of ${VAR:default} in all three
  t.equal(yaml.definition.sink?.type === 'container' && yaml.definition.sink.path, 'out/agent-logs.maif')
  t.strictSame(yaml.definition.transforms?.[2], { type: 'encrypt', keyring: '.maif-keys' })
  t.strictSame(yaml.definition.deadLetter, { type: 'file', path: 'out/agent-logs.maif.dead-letter.jsonl' })

  // and the env reaches all three the same way
  const env = { MAIF_OUT: '/data/run-7.maif', MAIF_KEYRING: '/etc/maif/keys' }
  const [y2, j2, t2] = await Promise.all([EXAMPLE_YAML, FIX('agent-logs.json'), EXAMPLE_TS].map((f) => loadPipelineFile(f, { env })))
  for (const r of [y2!, j2!, t2!]) {
    t.strictSame(r.definition.sink, { type: 'container', path: '/data/run-7.maif', fsync: 'commit' }, r.source.format)
    t.equal(r.definition.transforms?.find((x) => x.type === 'encrypt')?.keyring, '/etc/maif/keys', r.source.format)
    t.equal(r.definition.deadLetter?.path, '/data/run-7.maif.dead-letter.jsonl', r.source.format)
  }
})

t.test('the batch example: directory glob, concurrency and cursor', async (t) => {
  const { definition } = await loadPipelineFile(EXAMPLE_BATCH, { env: { MAIF_INPUT_DIR: '/var/log/agents' } })
  t.strictSame(definition.source, {
    type: 'file',
    path: '/var/log/agents/**/*.jsonl',
    format: 'jsonl',
    concurrency: 2,
    cursor: 'out/batch-directory-ingest.cursor.json',
  })
  t.strictSame(definition.transforms?.map((s) => s.type), ['validate-json', 'frame', 'compress', 'encrypt', 'chain', 'sign'])
  t.equal(definition.batching?.period, '2s')
  t.equal(parseDurationMs(definition.batching!.period!), 2000)
  t.equal(definition.security?.keyring, '.maif-keys')
  t.strictSame(validatePipeline(definition).filter((i) => i.severity !== 'info'), [])
})

t.test('a module may export the definition as `pipeline` instead of default', async (t) => {
  const r = await loadPipelineFile(FIX('valid-named-export.mjs'), { env: {} })
  t.equal(r.source.format, 'js')
  t.strictSame(r.definition.transforms, [{ type: 'frame', blockType: 'TEXT' }, { type: 'compress', codec: 'gzip', level: 6 }, { type: 'encrypt' }])
})

t.test('definePipeline is the identity on valid definitions and throws on invalid ones', async (t) => {
  const def: PipelineDefinition = {
    source: { type: 'file', paths: ['a.jsonl', 'b.jsonl'], format: 'jsonl' },
    transforms: [{ type: 'my-stage', anything: [1, 2] }, { type: 'frame' }, { type: 'compress' }, { type: 'encrypt' }, { type: 'chain' }, { type: 'sign' }],
    sink: { type: 'container', path: 'out/x.maif' },
  }
  const myStage = defineTransform({ type: 'my-stage', description: 'test', options: { anything: z.array(z.number()) }, build: () => ({ transform: (b: Batch) => [b] }) })
  t.equal(definePipeline(def, { components: [myStage] }), def)
  t.throws(() => definePipeline(def), { code: 'MAIF_ERR_PIPELINE_DEF', message: /unknown type "my-stage"/ }, 'a component not passed is unknown')

  const bad = { ...def, transforms: [{ type: 'frame' }, { type: 'sign' }, { type: 'my-stage', anything: [] }] } as PipelineDefinition
  const err = t.throws(() => definePipeline(bad, { components: [myStage] })) as PipelineDefError
  t.ok(err instanceof PipelineDefError)
  t.equal(err.code, 'MAIF_ERR_PIPELINE_DEF')
  t.strictSame(rules(err.issues), ['order/record-stage-after-frame', 'security/container-requires-encrypt'])
  t.match(err.message, /^transforms\[2\]: error: 'my-stage' works on records, so it must come before 'frame'/)

  const typo = { ...def, sink: { type: 'container', path: 'x.maif', fsynk: 'never' } } as unknown as PipelineDefinition
  const err2 = t.throws(() => definePipeline(typo, { components: [myStage] })) as PipelineDefError
  t.equal(err2.issues[0]?.rule, 'schema/unknown-key')
  t.strictSame(err2.issues[0]?.path, ['sink', 'fsynk'])
  t.match(err2.issues[0]?.hint, /did you mean 'fsync'\?/)
})

t.test('schema: exactly one of sink / sinks, path / paths', async (t) => {
  const none = checkPipeline({ source: { type: 'stdin', format: 'jsonl' } })
  t.equal(none.definition, undefined)
  t.strictSame(none.issues.map((i) => [i.rule, i.path]), [['schema/sink-xor-sinks', []]])

  const both = checkPipeline(minimal({ sinks: { mode: 'all', outputs: [{ type: 'stdout' }] } }))
  t.strictSame(both.issues.map((i) => [i.rule, i.path]), [['schema/sink-xor-sinks', ['sinks']]])

  const broker = checkPipeline({
    source: { type: 'stdin', format: 'jsonl' },
    transforms: [{ type: 'frame' }, { type: 'encrypt' }],
    sinks: { mode: 'fallback', outputs: [{ type: 'container', path: 'a.maif' }, { type: 'file', path: 'b.jsonl' }] },
  })
  t.strictSame(broker.issues, [])
  t.equal(broker.definition?.sinks?.mode, 'fallback')
  t.strictSame(resolveSinks(broker.definition!).outputs.map((s) => s.type), ['container', 'file'])
  t.strictSame(resolveDeadLetter(broker.definition!), { type: 'file', path: 'a.maif.dead-letter.jsonl' })

  const noPath = checkPipeline(minimal({ source: { type: 'file', format: 'jsonl' } }))
  t.strictSame(noPath.issues.map((i) => [i.rule, i.path]), [['schema/path-xor-paths', ['source']]])
  const twoPaths = checkPipeline(minimal({ source: { type: 'file', format: 'jsonl', path: 'a', paths: ['b'] } }))
  t.strictSame(twoPaths.issues.map((i) => [i.rule, i.path]), [['schema/path-xor-paths', ['source', 'paths']]])
  const emptyPaths = checkPipeline(minimal({ source: { type: 'file', format: 'jsonl', paths: [] } }))
  t.strictSame(emptyPaths.issues.map((i) => [i.rule, i.path, i.message]), [['schema/invalid-value', ['source', 'paths'], 'source.paths needs at least 1 item']])
})

t.test('schema: strict objects, values and ranges', async (t) => {
  const cases: [string, Record<string, unknown>, string, (string | number)[]][] = [
    ['unknown top-level key', minimal({ sinc: { type: 'stdout' } }), 'schema/unknown-key', ['sinc']],
    ['unknown stage key', minimal({ transforms: [{ type: 'chain', checkpointEvry: {} }] }), 'schema/unknown-key', ['transforms', 0, 'checkpointEvry']],
    ['nested unknown key', minimal({ transforms: [{ type: 'chain', checkpointEvery: { block: 3 } }] }), 'schema/unknown-key', ['transforms', 0, 'checkpointEvery', 'block']],
    ['retry too many attempts', minimal({ retry: { maxAttempts: 101 } }), 'schema/invalid-value', ['retry', 'maxAttempts']],
    ['retry zero attempts', minimal({ retry: { maxAttempts: 0 } }), 'schema/invalid-value', ['retry', 'maxAttempts']],
    ['backoff range', minimal({ retry: { backoff: { initialMs: 500, maxMs: 100 } } }), 'schema/backoff-range', ['retry', 'backoff', 'maxMs']],
    ['multiplier below 1', minimal({ retry: { backoff: { multiplier: 0.5 } } }), 'schema/invalid-value', ['retry', 'backoff', 'multiplier']],
    ['fractional concurrency', minimal({ concurrency: 1.5 }), 'schema/invalid-type', ['concurrency']],
    ['bad duration', minimal({ batching: { period: '5 sec' } }), 'schema/invalid-value', ['batching', 'period']],
    ['boolean duration', minimal({ batching: { period: true } }), 'schema/invalid-value', ['batching', 'period']],
    ['level out of range', minimal({ transforms: [{ type: 'compress', codec: 'brotli', level: 12 }] }), 'schema/codec-level', ['transforms', 0, 'level']],
    ['level without codec means zstd', minimal({ transforms: [{ type: 'compress', level: 23 }] }), 'schema/codec-level', ['transforms', 0, 'level']],
    ['level for codec none', minimal({ transforms: [{ type: 'compress', codec: 'none', level: 1 }] }), 'schema/codec-level', ['transforms', 0, 'level']],
    ['unknown codec', minimal({ transforms: [{ type: 'compress', codec: 'lz4' }] }), 'schema/invalid-value', ['transforms', 0, 'codec']],
    ['bad block type', minimal({ transforms: [{ type: 'frame', blockType: 'json' }] }), 'schema/invalid-value', ['transforms', 0, 'blockType']],
    ['stage without type', minimal({ transforms: [{ label: 'x' }] }), 'schema/missing-key', ['transforms', 0, 'type']],
    ['stage that is not a map', minimal({ transforms: ['frame'] }), 'schema/invalid-type', ['transforms', 0]],
    ['unregistered type', minimal({ transforms: [{ type: 'no spaces' }] }), 'schema/unknown-type', ['transforms', 0, 'type']],
    ['unknown sink type', minimal({ sink: { type: 'carrier-pigeon' } }), 'schema/unknown-type', ['sink', 'type']],
    ['sink without type', minimal({ sink: { path: 'x' } }), 'schema/missing-key', ['sink', 'type']],
    ['container without path', minimal({ sink: { type: 'container' }, transforms: [{ type: 'encrypt' }] }), 'schema/missing-key', ['sink', 'path']],
    ['empty path', minimal({ sink: { type: 'file', path: '' } }), 'schema/invalid-value', ['sink', 'path']],
    ['dead letter type', minimal({ deadLetter: { type: 'nowhere', path: 'x' } }), 'schema/unknown-type', ['deadLetter', 'type']],
    ['label not a string', minimal({ labels: { team: 3 } }), 'schema/invalid-type', ['labels', 'team']],
    ['source not a map', minimal({ source: 'samples/x.jsonl' }), 'schema/invalid-type', ['source']],
    ['bad name', minimal({ name: 'has space' }), 'schema/invalid-value', ['name']],
  ]
  for (const [what, data, rule, path] of cases) {
    const r = checkPipeline(data)
    t.equal(r.definition, undefined, what)
    t.strictSame(r.issues.map((i) => [i.rule, i.path]), [[rule, path]], what)
  }
  t.match(checkPipeline(minimal({ concurrency: 1.5 })).issues[0]?.message, 'concurrency must be an integer, got number 1.5')
  t.match(checkPipeline(minimal({ sink: { type: 'carrier-pigeon' } })).issues[0]?.hint, 'Expected one of: container, file, stdout')
})

const plugin = defineTransform({
  type: 'redact-emails', description: 'test', options: { fields: z.array(z.string()), nested: z.strictObject({ deep: z.boolean() }).optional() },
  build: () => ({ transform: (b: Batch) => [b] }),
})
const withPlugin = builtins.with([plugin])

t.test('schema: a registered transform is checked by its own strict schema, like a built-in', async (t) => {
  const r = checkPipeline(minimal({ transforms: [{ type: 'redact-emails', label: 'pii', fields: ['a'], nested: { deep: true } }] }), { registry: withPlugin })
  t.strictSame(r.issues, [])
  t.strictSame(r.definition?.transforms?.[0], { type: 'redact-emails', label: 'pii', fields: ['a'], nested: { deep: true } })
  const bad = checkPipeline(minimal({ transforms: [{ type: 'redact-emails', fields: 'a', extra: 1 }] }), { registry: withPlugin })
  t.strictSame(bad.issues.map((i) => [i.rule, i.path]).sort(), [['schema/invalid-type', ['transforms', 0, 'fields']], ['schema/unknown-key', ['transforms', 0, 'extra']]])

  const hidden = checkPipeline(minimal({ transforms: [{ type: 'frame', key: 'k' }] }))
  t.strictSame(hidden.issues.map((i) => [i.rule, i.path]), [['schema/unknown-key', ['transforms', 0, 'key']]])
  const wrong = checkPipeline(minimal({ transforms: [{ type: 'encrypt', keyring: 7 }] }))
  t.strictSame(wrong.issues.map((i) => [i.rule, i.path]), [['schema/invalid-type', ['transforms', 0, 'keyring']]])

  // an unregistered type is an error, with the nearest registered type as the hint
  const typo = checkPipeline(minimal({ transforms: [{ type: 'compres' }] }))
  t.strictSame(typo.issues.map((i) => [i.severity, i.rule]), [['error', 'schema/unknown-type']])
  t.match(typo.issues[0]?.hint, "did you mean 'compress'?")
  t.equal(typo.definition, undefined)
})

t.test('semantic rules (validatePipeline)', async (t) => {
  const def = (types: string[], extra: Record<string, unknown> = {}): PipelineDefinition =>
    pipelineSchema(withPlugin).parse({ source: { type: 'stdin', format: 'jsonl' }, transforms: types.map((type) => (type === 'redact-emails' ? { type, fields: [] } : { type })), sink: { type: 'container', path: 'o.maif' }, ...extra })
  const errors = (d: PipelineDefinition): ReturnType<typeof validatePipeline> => validatePipeline(d, { registry: withPlugin }).filter((i) => i.severity !== 'info')
  t.strictSame(errors(def(['validate-json', 'frame', 'compress', 'encrypt', 'chain', 'sign'])), [])
  t.strictSame(errors(def(['encrypt', 'chain'])), [], 'frame is optional')
  const check = (types: string[], expected: [string, number][], extra?: Record<string, unknown>): void => {
    const issues = errors(def(types, extra))
    t.strictSame(issues.map((i) => [i.rule, i.path[1]]), expected, types.join(' → '))
    for (const i of issues) t.match(i.hint, /\S/, `${i.rule} has a hint`)
  }
  check(['frame', 'encrypt', 'compress', 'chain', 'sign'], [['order/compress-before-encrypt', 2]])
  check(['frame', 'compress', 'chain', 'encrypt', 'sign'], [['order/chain-after-encrypt', 2]])
  check(['frame', 'compress', 'encrypt', 'sign', 'chain'], [['order/sign-after-chain', 3]])
  check(['frame', 'compress', 'encrypt', 'sign'], []) // sign without chain: the container adds chain (lint --verbose says so)
  check(['compress', 'frame', 'encrypt'], [['order/frame-first', 0]])
  check(['frame', 'validate-json', 'encrypt'], [['order/record-stage-after-frame', 1]])
  // A user stage after frame is rejected: it would never run on records there.
  check(['redact-emails', 'frame', 'redact-emails', 'encrypt'], [['order/record-stage-after-frame', 2]])
  check(['frame', 'encrypt', 'encrypt'], [['order/duplicate-stage', 2]])
  const noEnc = errors(def(['frame', 'compress']))
  t.strictSame(noEnc.map((i) => [i.severity, i.rule, i.path]), [['error', 'security/container-requires-encrypt', ['sink']]])

  const plain = errors(def(['frame'], { security: { requireEncryption: false } }))
  t.strictSame(plain.map((i) => [i.severity, i.rule, i.path]), [['warning', 'security/plaintext-container', ['sink']]])
  t.match(plain[0]?.message, "container 'o.maif' will be recorded as plaintext")
  t.equal(encryptionRequired(def(['frame'], { security: { requireEncryption: false } })), false)
  t.equal(encryptionRequired(def(['frame', 'encrypt'])), true)
  // what the sink adds is said at info level
  t.strictSame(validatePipeline(def(['frame', 'encrypt']), { registry: withPlugin }).filter((i) => i.severity === 'info'), [], 'info issues only when asked for')
  const infos = validatePipeline(def(['frame', 'encrypt']), { registry: withPlugin, verbose: true }).filter((i) => i.severity === 'info')
  t.strictSame(infos.map((i) => i.rule), ['sink/adds-stages', 'sink/uncompressed'])
  t.match(infos[0]?.message, "adds 'chain', 'sign'")

  // no container sink: nothing to encrypt for
  t.strictSame(validatePipeline(pipelineSchema().parse(minimal({ transforms: [{ type: 'frame' }] }))), [])
})

t.test('helpers', async (t) => {
  t.equal(parseDurationMs(250), 250)
  t.equal(parseDurationMs('500ms'), 500)
  t.equal(parseDurationMs('2s'), 2000)
  t.equal(parseDurationMs('1.5m'), 90_000)
  t.equal(parseDurationMs('1h'), 3_600_000)
  t.throws(() => parseDurationMs('2 days'), RangeError)
  t.strictSame(builtins.list('transform').map((s) => [s.type, s.stage]), [['validate-json', 'record'], ['frame', 'block'], ['compress', 'block'], ['encrypt', 'block'], ['chain', 'block'], ['sign', 'block'], ['embed-index', 'record'], ['audit', 'record']])
  const d = pipelineSchema().parse(minimal())
  t.equal(resolveDeadLetter(d), undefined, 'no container, no default dead-letter file')
  t.strictSame(resolveSinks(d), { mode: 'all', outputs: [{ type: 'stdout' }] })
  t.equal(resolveKeyringDir({ flag: 'f', pipeline: 'p', env: { MAIF_KEYRING: 'e' } }), 'f', 'the flag first')
  t.equal(resolveKeyringDir({ pipeline: 'p', env: { MAIF_KEYRING: 'e' } }), 'p', 'then the pipeline')
  t.equal(resolveKeyringDir({ env: { MAIF_KEYRING: 'e' } }), 'e', 'then MAIF_KEYRING')
  t.equal(resolveKeyringDir({ env: {} }), undefined)
  t.strictSame(parseSetArgs(['a.b=c=d', 'x=']), { 'a.b': 'c=d', x: '' })
  t.throws(() => parseSetArgs(['novalue']), { code: 'MAIF_ERR_USAGE' })
  t.equal(
    formatIssue({ file: 'p.yaml', line: 3, column: 7, severity: 'error', code: 'MAIF_ERR_PIPELINE_DEF', rule: 'schema/unknown-key', path: ['x'], message: 'm', hint: 'h' }),
    'p.yaml:3:7: error: m [schema/unknown-key]\n  hint: h',
  )
  t.equal(formatIssue({ severity: 'warning', code: 'MAIF_ERR_PIPELINE_DEF', rule: 'r', path: ['transforms', 2, 'level'], message: 'm' }), 'transforms[2].level: warning: m [r]')
})

t.test('env interpolation: strings', async (t) => {
  t.strictSame(interpolateString('${A}', { A: 'x' }), { value: 'x', problems: [], refs: 1, whole: true })
  t.equal(interpolateString('${A:d}', {}).value, 'd', 'default when unset')
  t.equal(interpolateString('${A:d}', { A: '' }).value, 'd', 'default when empty')
  t.equal(interpolateString('${A:d}', { A: 'set' }).value, 'set')
  t.equal(interpolateString('${A}', { A: '' }).value, '', 'empty without default is empty')
  t.equal(interpolateString('${A:}', {}).value, '', 'empty default')
  t.equal(interpolateString('${URL:http://h:9000/x}', {}).value, 'http://h:9000/x', 'default may contain colons')
  t.equal(interpolateString('a-${A}-${B:b}.maif', { A: '1' }).value, 'a-1-b.maif')
  t.equal(interpolateString('a-${A}', { A: '1' }).whole, false)
  t.strictSame(interpolateString('literal $${HOME} and $${X:y}', {}), { value: 'literal ${HOME} and ${X:y}', problems: [], refs: 0, whole: false })
  t.equal(interpolateString('cost $5 $', {}).value, 'cost $5 $', 'a lone $ is kept')

  const missing = interpolateString('out/${RUN}.maif', {})
  t.equal(missing.value, 'out/${RUN}.maif')
  t.strictSame(missing.problems.map((p) => [p.rule, p.name, p.offset]), [['env/missing-var', 'RUN', 4]])
  t.match(missing.problems[0]?.message, 'environment variable RUN is not set')
  t.strictSame(interpolateString('${1A}', {}).problems.map((p) => p.rule), ['env/malformed'])
  t.strictSame(interpolateString('${A', {}).problems.map((p) => [p.rule, p.offset]), [['env/malformed', 0]])
  t.strictSame(interpolateString('${}', {}).problems.map((p) => p.rule), ['env/malformed'])

  t.equal(interpolate('${A:z}', {}), 'z')
  t.throws(() => interpolate('x${NOPE}', {}, 'f.yaml:2:3'), { code: 'MAIF_ERR_ENV', message: /^f\.yaml:2:3: environment variable NOPE is not set/ })

  const fn = (): number => 1
  const src = { a: '${A:1}', b: ['${B}', 2, fn], c: { d: '${D:dd}' }, re: /x/ }
  const r = interpolateValue(src, { B: 'bee' })
  t.strictSame(r.value, { a: '1', b: ['bee', 2, fn], c: { d: 'dd' }, re: /x/ })
  t.equal(r.value.b[2], fn, 'functions are kept as is')
  t.equal(src.a, '${A:1}', 'the input is not mutated')
  t.strictSame(interpolateValue({ x: ['${Q}'] }, {}).problems.map((p) => [p.rule, p.path]), [['env/missing-var', ['x', 0]]])
})

t.test('env interpolation in YAML files', async (t) => {
  const ok = await loadPipelineFile(FIX('env.yaml'), { env: { MAIF_TEST_RUN: 'r1' } })
  t.equal(ok.definition.source.type === 'file' && ok.definition.source.path, 'samples/agent-logs.jsonl')
  t.equal(ok.definition.source.type === 'file' && ok.definition.source.concurrency, 4, 'a plain ${VAR:4} becomes the number 4')
  t.strictSame(ok.definition.transforms?.[0], { type: 'frame', agent: 'agent-1 ${HOME}' }, '$${ escapes, quoted stays a string')
  t.strictSame(ok.definition.sink, { type: 'container', path: 'out/r1.maif' })

  const env2 = await loadPipelineFile(FIX('env.yaml'), { env: { MAIF_TEST_RUN: 'r2', MAIF_TEST_CONCURRENCY: '9', MAIF_TEST_IN: '-', MAIF_TEST_AGENT: 'bot' } })
  t.equal(env2.definition.source.type === 'file' && env2.definition.source.concurrency, 9)
  t.equal(env2.definition.source.type === 'file' && env2.definition.source.path, '-')
  t.equal(env2.definition.transforms?.[0]?.type === 'frame' && env2.definition.transforms[0].agent, 'bot ${HOME}')

  await t.rejects(loadPipelineFile(FIX('env.yaml'), { env: {} }), { code: 'MAIF_ERR_ENV', message: /env\.yaml:15:13: error: environment variable MAIF_TEST_RUN is not set/ })

  // quoting keeps a string, which the schema then rejects for an integer field
  const quoted = lintPipelineSource('source: { type: file, path: x, format: jsonl, concurrency: "${C:4}" }\nsink: { type: stdout }\n', 'q.yaml', { env: {} })
  t.strictSame(quoted.map((i) => [i.rule, i.line, i.column]), [['schema/invalid-type', 1, 60]])
  // keys are never interpolated
  const keys = lintPipelineSource('source: { type: stdin, format: text }\nsink: { type: stdout }\nlabels:\n  ${K}: v\n', 'k.yaml', { env: {} })
  t.strictSame(keys, [])
})

t.test('--set overrides', async (t) => {
  const r = await loadPipelineFile(EXAMPLE_YAML, {
    env: {},
    set: { 'sink.path': '/tmp/over.maif', 'transforms.1.level': '19', deadLetter: 'null', 'batching.period': '5s', 'labels.team': 'ops', 'sink.fsync': '~' },
  })
  t.strictSame(r.definition.sink, { type: 'container', path: '/tmp/over.maif' })
  t.equal(r.definition.transforms?.[1]?.type === 'compress' && r.definition.transforms[1].level, 19, 'YAML scalar: a number')
  t.equal(r.definition.deadLetter, undefined, 'null removes a key')
  t.strictSame(r.definition.batching, { period: '5s' }, 'missing maps are created')
  t.strictSame(r.definition.labels, { team: 'ops', dataset: 'agent-logs' })
  t.equal(resolveDeadLetter(r.definition)?.path, '/tmp/over.maif.dead-letter.jsonl')

  const s = await loadPipelineFile(EXAMPLE_YAML, { env: {}, set: { 'retry.backoff.multiplier': '1.5', 'security.requireEncryption': 'true', 'name': '"007"' } })
  t.equal(s.definition.retry?.backoff?.multiplier, 1.5)
  t.equal(s.definition.security?.requireEncryption, true)
  t.equal(s.definition.name, '007', 'a quoted YAML scalar stays a string')

  await t.rejects(loadPipelineFile(EXAMPLE_YAML, { env: {}, set: { 'transforms.1.level': '99' } }), {
    code: 'MAIF_ERR_PIPELINE_DEF',
    message: /agent-logs-to-container\.yaml:22:5: error: zstd level must be from -7 to 22, got 99 \(value from --set transforms\.1\.level\)/,
  })
  await t.rejects(loadPipelineFile(EXAMPLE_YAML, { env: {}, set: { 'transforms.9.level': '3' } }), { code: 'MAIF_ERR_USAGE', message: /'9' is not an index/ })
  await t.rejects(loadPipelineFile(EXAMPLE_YAML, { env: {}, set: { 'name.x': '3' } }), { code: 'MAIF_ERR_USAGE', message: /'name' is not a map or list/ })
  await t.rejects(loadPipelineFile(EXAMPLE_YAML, { env: {}, set: { 'sink..path': 'x' } }), { code: 'MAIF_ERR_USAGE' })
  await t.rejects(loadPipelineFile(EXAMPLE_YAML, { env: {}, set: { 'transforms.1.lvl': '3' } }), { code: 'MAIF_ERR_PIPELINE_DEF', message: /unknown key 'lvl'.*--set transforms\.1\.lvl/ })

  const ts = await loadPipelineFile(EXAMPLE_TS, { env: {}, set: { 'sink.path': 'ts.maif', 'transforms.0.replacement': 'X', 'transforms.2.level': '5', retry: '~' } })
  t.strictSame(ts.definition.sink, { type: 'container', path: 'ts.maif', fsync: 'commit' })
  t.strictSame(ts.definition.transforms?.[0], { type: 'redact-emails', label: 'pii-redaction', fields: ['text', 'output'], replacement: 'X' })
  t.strictSame(ts.definition.transforms?.[2], { type: 'compress', codec: 'zstd', level: 5 })
  t.equal(ts.definition.retry, undefined)
  // the module's own object is not changed by --set or interpolation
  const again = await loadPipelineFile(EXAMPLE_TS, { env: {} })
  t.equal(again.definition.sink?.type === 'container' && again.definition.sink.path, 'out/agent-logs.maif')
  t.not(again.definition.retry, undefined)
})

t.test('--set on a module is validated too', async (t) => {
  await t.rejects(loadPipelineFile(EXAMPLE_TS, { env: {}, set: { 'transforms.2.level': '30' } }), { code: 'MAIF_ERR_PIPELINE_DEF', message: /zstd level must be from -7 to 22, got 30/ })
  await t.rejects(loadPipelineFile(EXAMPLE_TS, { env: {}, set: { 'name.first': 'x' } }), { code: 'MAIF_ERR_USAGE' })
  await t.rejects(loadPipelineFile(EXAMPLE_TS, { env: {}, set: { 'transforms.7': 'x' } }), { code: 'MAIF_ERR_USAGE' })
  const dropped = await loadPipelineFile(EXAMPLE_TS, { env: {}, set: { 'transforms.0': 'null', 'labels.raw': '${NOT_INTERPOLATED}' } })
  t.strictSame(dropped.definition.transforms?.map((s) => s.type), ['frame', 'compress', 'encrypt', 'chain', 'sign'], 'null removes a list item')
  t.equal(dropped.definition.labels?.raw, '${NOT_INTERPOLATED}', '--set values are not interpolated')
})

t.test('JSON Schema for editors', async (t) => {
  const s = pipelineJsonSchema()
  t.equal(s.$schema, 'https://json-schema.org/draft/2020-12/schema')
  t.equal(s.type, 'object')
  t.equal(s.additionalProperties, false)
  t.strictSame(s.required, ['source'])
  const props = s.properties as Record<string, Record<string, unknown>>
  t.strictSame(Object.keys(props).sort(), ['$schema', 'batching', 'concurrency', 'deadLetter', 'labels', 'name', 'observability', 'retry', 'security', 'sink', 'sinks', 'source', 'transforms'].sort())
  // Derived from the registry: exactly the registered transforms and sinks, each strict.
  const items = props.transforms!.items as { oneOf: { properties: { type: { const: string } }; additionalProperties: unknown }[] }
  t.strictSame(items.oneOf.map((o) => o.properties.type.const), builtins.types('transform'))
  for (const o of items.oneOf) t.equal(o.additionalProperties, false, `${o.properties.type.const} is strict`)
  const sink = props.sink as { oneOf: { properties: { type: { const: string } } }[] }
  t.strictSame(sink.oneOf.map((o) => o.properties.type.const), builtins.types('sink'))
  const withPluginSchema = pipelineJsonSchema({ registry: withPlugin }) as { properties: { transforms: { items: { oneOf: { properties: { type: { const: string } } }[] } } } }
  t.ok(withPluginSchema.properties.transforms.items.oneOf.some((o) => o.properties.type.const === 'redact-emails'), 'a registered component appears in the schema')
  t.equal((pipelineJsonSchema({ target: 'draft-7' }) as { $schema: string }).$schema, 'http://json-schema.org/draft-07/schema#')
})
