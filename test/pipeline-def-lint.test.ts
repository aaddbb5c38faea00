import '../src/builtins.js'
import { builtins, defineTransform } from '../src/core/runtime/component.js'
import type { Batch } from '../src/core/runtime/types.js'
import t from 'tap'
import { fileURLToPath } from 'node:url'
import { relative } from 'node:path'
import { lintPipelineFile, lintPipelineSource, loadPipelineFile, type LintIssue, type PipelineDefError } from '../src/core/runtime/pipeline-def.js'

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url))
const FIX = (name: string): string => here(`fixtures/pipelines/${name}`)
/** [rule, line, column] of each issue, in order. */
const at = (issues: readonly LintIssue[]): [string, number, number][] => issues.map((i) => [i.rule, i.line, i.column])
const lint = (name: string, env: Record<string, string> = {}): Promise<LintIssue[]> => lintPipelineFile(FIX(name), { env })

t.test('the example pipelines lint clean', async (t) => {
  for (const f of ['agent-logs-to-container.yaml', 'batch-directory-ingest.yaml', 'custom-stage.ts']) {
    t.strictSame(await lintPipelineFile(here(`../pipelines/${f}`), { env: {} }), [], f)
  }
  t.strictSame(await lint('agent-logs.json'), [])
})

t.test('schema errors point at the offending line and column (YAML)', async (t) => {
  const issues = await lint('bad-schema.yaml')
  t.strictSame(at(issues), [
    ['schema/invalid-type', 6, 16], //   concurrency: two
    ['schema/unknown-key', 9, 5], //     blockRecrods: 100  (the key itself)
    ['yaml/duplicate-key', 12, 5], //    the second `codec:`
    ['schema/invalid-value', 19, 10], // fsync: sometimes
  ])
  t.ok(issues.every((i) => i.severity === 'error' && i.code === 'MAIF_ERR_PIPELINE_DEF' && i.file === FIX('bad-schema.yaml')))
  t.equal(issues[0]!.message, 'source.concurrency must be an integer, got the string "two"')
  t.strictSame(issues[0]!.path, ['source', 'concurrency'])
  t.equal(issues[1]!.message, "unknown key 'blockRecrods' in the frame stage (transforms[0])")
  t.equal(issues[1]!.hint, "did you mean 'blockRecords'? Allowed keys: type, label, blockRecords, blockBytes, blockMs, blockType, agent, classification")
  t.equal(issues[1]!.atKey, true)
  t.equal(issues[2]!.message, "duplicate key 'codec': map keys must be unique")
  t.equal(issues[3]!.message, `sink.fsync must be one of 'commit', 'never', got the string "sometimes"`)
})

t.test('JSON files get lines and columns too (tabs count as one column)', async (t) => {
  const issues = await lint('bad.json')
  t.strictSame(at(issues), [
    ['schema/invalid-value', 4, 33], //  "blockMs": -5
    ['schema/unknown-key', 5, 42], //    "lvl"
    ['yaml/duplicate-key', 5, 52], //    second "codec"
    ['schema/unknown-type', 10, 20], //  "containr"
  ])
  t.equal(issues[0]!.message, 'transforms[0].blockMs must be at least 0, got number -5')
  t.equal(issues[2]!.message, "duplicate key 'codec': map keys must be unique")
  t.equal(issues[3]!.hint, "did you mean 'container'? Expected one of: container, file, stdout, kafka, s3, cloudwatch-logs, elasticsearch, splunk-hec")
})

t.test('stage ordering and sign/chain rules, each at its stage', async (t) => {
  const compress = await lint('order-compress-after-encrypt.yaml')
  t.strictSame(at(compress), [['order/compress-before-encrypt', 5, 5]])
  t.match(compress[0]!.hint, "move 'compress' above 'encrypt'")

  const chain = await lint('order-chain-sign.yaml')
  t.strictSame(at(chain), [['order/chain-after-encrypt', 5, 5]])
  t.match(chain[0]!.hint, "move 'chain' below 'encrypt'")

  // sign without chain is not an error: the container adds chain, and says so at info level (lint --verbose)
  t.strictSame(at(await lint('sign-without-chain.yaml')), [])
  const sign = await lintPipelineFile(FIX('sign-without-chain.yaml'), { verbose: true })
  t.strictSame(at(sign), [['sink/adds-stages', 7, 7]])
  t.match(sign[0]!.message, "adds 'chain' with default settings")

  const frame = await lint('frame-not-first.yaml')
  t.strictSame(at(frame), [['order/frame-first', 3, 5], ['order/record-stage-after-frame', 5, 5]])
  t.match(frame[0]!.message, "'compress' works on blocks, so it must come after 'frame'")
})

t.test('a container sink needs encrypt, unless requireEncryption is false (then a warning)', async (t) => {
  const missing = await lint('container-no-encrypt.yaml')
  t.strictSame(at(missing), [['security/container-requires-encrypt', 12, 7]]) // the container item in sinks.outputs
  t.equal(missing[0]!.severity, 'error')
  t.strictSame(missing[0]!.path, ['sinks', 'outputs', 1])
  t.match(missing[0]!.hint, 'requireEncryption: false')
  const err = (await loadPipelineFile(FIX('container-no-encrypt.yaml'), { env: {} }).then(
    () => undefined,
    (e: unknown) => e,
  )) as PipelineDefError | undefined
  t.equal(err?.code, 'MAIF_ERR_PIPELINE_DEF')
  t.strictSame(err?.issues.map((i) => i.rule), ['security/container-requires-encrypt'])
  t.match(err?.message, /container-no-encrypt\.yaml:12:7: error: container sink 'out\/plain\.maif' needs an 'encrypt' stage/)

  const plain = await lint('container-plaintext.yaml')
  t.strictSame(at(plain), [['security/plaintext-container', 5, 3]])
  t.equal(plain[0]!.severity, 'warning')
  t.match(plain[0]!.message, "container 'out/plain.maif' will be recorded as plaintext")
  const loaded = await loadPipelineFile(FIX('container-plaintext.yaml'), { env: {} })
  t.equal(loaded.definition.security?.requireEncryption, false)
  t.strictSame(at(loaded.warnings), [['security/plaintext-container', 5, 3]])
})

t.test('missing environment variables are located at their ${', async (t) => {
  const issues = await lint('env.yaml')
  t.strictSame(at(issues), [['env/missing-var', 15, 13]])
  t.equal(issues[0]!.code, 'MAIF_ERR_ENV')
  t.match(issues[0]!.message, 'MAIF_TEST_RUN')
  t.strictSame(await lint('env.yaml', { MAIF_TEST_RUN: 'x' }), [])
  // several on one line, and one inside a quoted scalar
  const two = lintPipelineSource('source: { type: file, path: "${A}/${B}", format: jsonl }\nsink: { type: stdout }\n', 'two.yaml', { env: { A: 'a' } })
  t.strictSame(at(two), [['env/missing-var', 1, 35]])
  const both = lintPipelineSource('source: { type: file, path: "${A}/${B}", format: jsonl }\nsink: { type: stdout }\n', 'two.yaml', { env: {} })
  t.strictSame(at(both), [['env/missing-var', 1, 30], ['env/missing-var', 1, 35]])
  // a missing variable in an integer field does not also produce a type error
  const intField = lintPipelineSource('source: { type: stdin, format: jsonl }\nconcurrency: ${CONC}\nsink: { type: stdout }\n', 'c.yaml', { env: {} })
  t.strictSame(at(intField), [['env/missing-var', 2, 14]])
  const malformed = lintPipelineSource('source: { type: stdin, format: jsonl }\nname: x-${not a var}\nsink: { type: stdout }\n', 'm.yaml', { env: {} })
  t.strictSame(at(malformed), [['env/malformed', 2, 9]])
  const afterEscape = lintPipelineSource('source: { type: stdin, format: jsonl }\nname: "$${x}-${NOPE}"\nsink: { type: stdout }\n', 'e.yaml', { env: {} })
  t.strictSame(at(afterEscape), [['env/missing-var', 2, 14]], 'an escaped $${ before it does not shift the column')
  const malformedAfterEscape = lintPipelineSource('source: { type: stdin, format: jsonl }\nname: "$${x}-${9}"\nsink: { type: stdout }\n', 'e.yaml', { env: {} })
  t.strictSame(at(malformedAfterEscape), [['env/malformed', 2, 14]])
})

t.test('missing keys and types point at the enclosing map', async (t) => {
  const src = ['source:', '  type: file', '  format: jsonl', 'transforms:', '  - label: no-type', 'sink:', '  type: file', '  label: out', ''].join('\n')
  const issues = lintPipelineSource(src, 'm.yaml', { env: {} })
  t.strictSame(at(issues), [
    ['schema/path-xor-paths', 2, 3],
    ['schema/missing-key', 5, 5],
    ['schema/missing-key', 7, 3],
  ])
  t.equal(issues[2]!.message, "missing required key 'path' in sink")
  t.match(issues[1]!.message, "needs a 'type'")
  t.strictSame(at(lintPipelineSource('', 'empty.yaml')), [['schema/invalid-type', 1, 1]])
  t.strictSame(at(lintPipelineSource('# only a comment\nsource: { type: stdin, format: text }\n', 'c.yaml')), [['schema/sink-xor-sinks', 2, 1]])
})

t.test('a transform type that is not registered is an error at the type, with the nearest registered one', async (t) => {
  const src = 'source: { type: stdin, format: jsonl }\ntransforms:\n  - type: redact-emails\n  - type: redact-phone\nsink: { type: stdout }\n'
  const phones = defineTransform({ type: 'redact-phones', description: 'test', options: {}, build: () => ({ transform: (b: Batch) => [b] }) })
  const emails = defineTransform({ type: 'redact-emails', description: 'test', options: {}, build: () => ({ transform: (b: Batch) => [b] }) })
  const issues = lintPipelineSource(src, 'k.yaml', { registry: builtins.with([phones, emails]) })
  t.strictSame(issues.map((i) => [i.rule, i.line, i.column]), [['schema/unknown-type', 4, 11]])
  t.match(issues[0]!.hint, "did you mean 'redact-phones'?")
  const unknown = lintPipelineSource(src, 'k.yaml')
  t.strictSame(unknown.map((i) => [i.rule, i.line]), [['schema/unknown-type', 3], ['schema/unknown-type', 4]], 'without the components, both are unknown')
  const typo = lintPipelineSource('source: { type: stdin, format: jsonl }\ntransforms: [ { type: frame }, { type: singn } ]\nsink: { type: stdout }\n', 't.yaml')
  t.strictSame(typo.map((i) => [i.severity, i.rule, i.line]), [['error', 'schema/unknown-type', 2]])
  t.match(typo[0]!.hint, "did you mean 'sign'?")
})

t.test('YAML syntax errors stop before schema checks', async (t) => {
  const issues = await lint('syntax-error.yaml')
  t.equal(issues.length, 1)
  t.strictSame(at(issues).map(([rule]) => rule), ['yaml/syntax'])
  t.equal(issues[0]!.line, 4)
  await t.rejects(loadPipelineFile(FIX('syntax-error.yaml'), { env: {} }), { code: 'MAIF_ERR_PIPELINE_DEF', message: /syntax-error\.yaml:4:1: error: .*\[yaml\/syntax\]/ })
  // an alias bomb is refused, not expanded
  const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]', 'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]', ''].join('\n')
  const refused = lintPipelineSource(bomb, 'bomb.yaml')
  t.strictSame(refused.map((i) => [i.rule, i.line]), [['yaml/syntax', 1]])
  t.match(refused[0]!.message, /alias/i)
  const json = lintPipelineSource('{ "source": { "type": "stdin", "format": "text" }, "sink": { "type": "stdout" }, }', 'x.json')
  t.strictSame(json.map((i) => i.rule), ['yaml/syntax'], 'a trailing comma is not JSON')
})

t.test('module files: issues without positions', async (t) => {
  const invalid = await lint('invalid-module.ts')
  t.strictSame(invalid.map((i) => [i.rule, i.line, i.column, relative(here('.'), i.file)]), [['order/record-stage-after-frame', 1, 1, 'fixtures/pipelines/invalid-module.ts']])
  await t.rejects(loadPipelineFile(FIX('invalid-module.ts'), { env: {} }), { code: 'MAIF_ERR_PIPELINE_DEF', message: /invalid-module\.ts:1:1: error: 'validate-json' works on records, so it must come before 'frame'/ })
  t.strictSame(at(await lint('missing-export.mjs')), [['module/export', 1, 1]])
  t.strictSame(at(await lint('named-export.mjs')), [['schema/codec-level', 1, 1]])
  await t.rejects(lint('throws-module.mjs'), { code: 'MAIF_ERR_PIPELINE_DEF', message: /throws-module\.mjs: the pipeline module failed to load: boom while building the pipeline/ })
})

t.test('unreadable and unsupported files', async (t) => {
  await t.rejects(lintPipelineFile(FIX('does-not-exist.yaml')), { code: 'MAIF_ERR_IO' })
  await t.rejects(loadPipelineFile(FIX('does-not-exist.mjs')), { code: 'MAIF_ERR_IO' })
  await t.rejects(lintPipelineFile(FIX('pipeline.toml')), { code: 'MAIF_ERR_USAGE', message: /\.yaml, \.yml, \.json/ })
})
