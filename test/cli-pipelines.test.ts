// The pipeline commands of the CLI, run as child processes: `maif lint` (exit 0 / 1, file:line:col),
// `maif validate` (exit 0 / 78 EX_CONFIG), `maif schema` (JSON Schema on stdout).
import '../src/builtins.js'
import t from 'tap'
import { join } from 'node:path'
import { maif } from './helpers/cli.js'
import { freshKeyring, repoPath } from './helpers/engine.js'

const PIPE = (f: string): string => repoPath(`pipelines/${f}`)
const FIX = (f: string): string => repoPath(`test/fixtures/pipelines/${f}`)
const GOOD = [PIPE('agent-logs-to-container.yaml'), PIPE('agent-logs-to-container.ts'), PIPE('batch-directory-ingest.yaml'), PIPE('custom-stage.ts'), FIX('agent-logs.json'), FIX('valid-named-export.mjs')]

/** "file:line:col: severity: ... [rule]" lines of lint output, as [line, col, severity, rule]. */
function located(stdout: string, file: string): Array<[number, number, string, string]> {
  const out: Array<[number, number, string, string]> = []
  for (const l of stdout.split('\n')) {
    if (!l.startsWith(`${file}:`)) continue
    const m = /^:(\d+):(\d+): (error|warning|info): .* \[([\w/-]+)\]$/.exec(l.slice(file.length))
    if (m) out.push([Number(m[1]), Number(m[2]), m[3]!, m[4]!])
  }
  return out
}

t.test('lint: the example pipelines are clean (exit 0)', async (t) => {
  const results = await Promise.all(GOOD.map((f) => maif(['lint', f])))
  GOOD.forEach((f, i) => {
    const r = results[i]!
    t.equal(r.code, 0, `${f}: ${r.stdout}${r.stderr}`)
    t.equal(r.stdout, '1 pipeline(s) OK\n', f)
  })
  const all = await maif(['lint', ...GOOD])
  t.equal(all.code, 0)
  t.equal(all.stdout, `${GOOD.length} pipeline(s) OK\n`)
  const json = await maif(['lint', '--json', ...GOOD])
  t.equal(json.code, 0)
  t.strictSame(JSON.parse(json.stdout), [])
})

t.test('lint: bad fixtures exit 1 and point at file:line:col', async (t) => {
  const cases: Array<[string, Array<[number, number, string, string]>]> = [
    ['bad-schema.yaml', [[6, 16, 'error', 'schema/invalid-type'], [9, 5, 'error', 'schema/unknown-key'], [12, 5, 'error', 'yaml/duplicate-key'], [19, 10, 'error', 'schema/invalid-value']]],
    ['bad.json', [[4, 33, 'error', 'schema/invalid-value'], [5, 42, 'error', 'schema/unknown-key'], [5, 52, 'error', 'yaml/duplicate-key'], [10, 20, 'error', 'schema/unknown-type']]],
    ['order-compress-after-encrypt.yaml', [[5, 5, 'error', 'order/compress-before-encrypt']]],
    ['order-chain-sign.yaml', [[5, 5, 'error', 'order/chain-after-encrypt']]],
    ['frame-not-first.yaml', [[3, 5, 'error', 'order/frame-first'], [5, 5, 'error', 'order/record-stage-after-frame']]],
    ['container-no-encrypt.yaml', [[12, 7, 'error', 'security/container-requires-encrypt']]],
    ['env.yaml', [[15, 13, 'error', 'env/missing-var']]],
    ['invalid-module.ts', [[1, 1, 'error', 'order/record-stage-after-frame']]],
    ['missing-export.mjs', [[1, 1, 'error', 'module/export']]],
    ['named-export.mjs', [[1, 1, 'error', 'schema/codec-level']]],
  ]
  t.notOk(process.env.MAIF_TEST_RUN, 'precondition: env.yaml needs MAIF_TEST_RUN unset')
  const results = await Promise.all(cases.map(([name]) => maif(['lint', FIX(name)])))
  for (const [k, [name, want]] of cases.entries()) {
    const r = results[k]!
    t.equal(r.code, 1, `${name} exits 1`)
    t.strictSame(located(r.stdout, FIX(name)), want, `${name}: located issues`)
    t.notMatch(r.stdout, /pipeline\(s\) OK/)
  }
  // A YAML syntax error: one issue, on line 4 (the line after the unclosed flow sequence).
  const syn = await maif(['lint', FIX('syntax-error.yaml')])
  t.equal(syn.code, 1)
  t.strictSame(located(syn.stdout, FIX('syntax-error.yaml')).map(([line, , sev, rule]) => [line, sev, rule]), [[4, 'error', 'yaml/syntax']])
  // A good and a bad file together: exit 1, only the bad one reported.
  const mixed = await maif(['lint', PIPE('agent-logs-to-container.yaml'), FIX('order-chain-sign.yaml')])
  t.equal(mixed.code, 1)
  t.strictSame(located(mixed.stdout, FIX('order-chain-sign.yaml')), [[5, 5, 'error', 'order/chain-after-encrypt']])
  t.notMatch(mixed.stdout, /agent-logs-to-container\.yaml:/)
  // sign without chain is not an error: the container adds chain, and --verbose says so.
  const quiet = await maif(['lint', FIX('sign-without-chain.yaml')])
  t.equal(quiet.code, 0, quiet.stdout)
  t.equal(quiet.stdout, '1 pipeline(s) OK\n')
  const verbose = await maif(['lint', '--verbose', FIX('sign-without-chain.yaml')])
  t.equal(verbose.code, 0)
  t.strictSame(located(verbose.stdout, FIX('sign-without-chain.yaml')), [[7, 7, 'info', 'sink/adds-stages']])
  // --json: the same issues as objects.
  const json = await maif(['lint', '--json', FIX('bad-schema.yaml')])
  t.equal(json.code, 1)
  const issues = JSON.parse(json.stdout) as Array<{ file: string; line: number; column: number; rule: string; severity: string }>
  t.strictSame(issues.map((i) => [i.line, i.column, i.rule]), [[6, 16, 'schema/invalid-type'], [9, 5, 'schema/unknown-key'], [12, 5, 'yaml/duplicate-key'], [19, 10, 'schema/invalid-value']])
  t.ok(issues.every((i) => i.file === FIX('bad-schema.yaml') && i.severity === 'error'))
})

t.test('lint: warnings alone exit 0 and are still printed', async (t) => {
  const r = await maif(['lint', FIX('container-plaintext.yaml')])
  t.equal(r.code, 0, r.stdout)
  t.strictSame(located(r.stdout, FIX('container-plaintext.yaml')), [[5, 3, 'warning', 'security/plaintext-container']])
  t.match(r.stdout, /1 pipeline\(s\) OK/)
})

t.test('lint: a missing file exits 2 (usage / IO error), not 0 or 1', async (t) => {
  const r = await maif(['lint', FIX('does-not-exist.yaml')])
  t.equal(r.code, 2)
  t.match(r.stderr, /maif lint: MAIF_ERR_IO: cannot read pipeline file/)
})

t.test('validate: exit 78 when the keyring directory does not exist, 0 when it does', async (t) => {
  const dir = t.testdir()
  const keys = await freshKeyring(dir)
  const env = { MAIF_INPUT_DIR: repoPath('samples'), MAIF_OUT_DIR: join(dir, 'out') }
  const batch = PIPE('batch-directory-ingest.yaml')

  const missing = await maif(['validate', batch, '--set', 'security.keyring=/nonexistent'], { env })
  t.equal(missing.code, 78, missing.stdout + missing.stderr)
  t.match(missing.stdout, /^error: keyring: .*\/nonexistent\/maif\.key/m)
  t.notMatch(missing.stdout, /environment is ready/)

  const ok = await maif(['validate', batch, '--set', `security.keyring=${keys.dir}`], { env })
  t.equal(ok.code, 0, ok.stdout + ok.stderr)
  t.equal(ok.stdout, `${batch} is valid and its environment is ready\n`)

  // The keyring from the environment (the YAML example's encrypt stage reads ${MAIF_KEYRING}).
  const yaml = PIPE('agent-logs-to-container.yaml')
  const out = join(dir, 'y', 'agent-logs.maif')
  const envMissing = await maif(['validate', yaml], { env: { MAIF_KEYRING: join(dir, 'no-such-keyring'), MAIF_OUT: out } })
  t.equal(envMissing.code, 78, envMissing.stdout)
  t.match(envMissing.stdout, /error: keyring: .*no-such-keyring/)
  const envOk = await maif(['validate', yaml], { env: { MAIF_KEYRING: keys.dir, MAIF_OUT: out } })
  t.equal(envOk.code, 0, envOk.stdout + envOk.stderr)
  t.match(envOk.stdout, /is valid and its environment is ready/)

  // A definition error is a configuration problem too: 78, with the located issue.
  const bad = await maif(['validate', FIX('order-chain-sign.yaml')])
  t.equal(bad.code, 78)
  t.match(bad.stdout, /error: MAIF_ERR_PIPELINE_DEF: .*order-chain-sign\.yaml:5:5/)
})

t.test('schema: prints the JSON Schema of pipeline files', async (t) => {
  const r = await maif(['schema'])
  t.equal(r.code, 0, r.stderr)
  const schema = JSON.parse(r.stdout) as { $schema?: string; title?: string; type?: string; properties?: Record<string, unknown>; required?: string[] }
  t.type(schema.properties?.source, 'object', 'properties.source')
  for (const k of ['name', 'transforms', 'sink', 'sinks', 'deadLetter', 'retry', 'security', 'batching']) t.ok(schema.properties && k in schema.properties, `properties.${k}`)
  t.equal(schema.type, 'object')
  t.ok(schema.required?.includes('source'), 'source is required')
  t.equal(schema.title, 'maif pipeline definition')
  t.match(schema.$schema, /json-schema\.org/)
})
