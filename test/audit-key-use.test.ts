// Audit events of pipelines and readers in MAIF_AUDIT_LOG: the container sink records each session's
// create/open and close, and every data-key use (key.use, naming the wrapping key ids, never key material),
// once per session and never per block; cat and verify record their key use too. Each invocation's events are
// one hash-chained log that `maif audit` verifies.
import t from 'tap'
import { join } from 'node:path'
import { readFileSync, writeFileSync } from 'node:fs'
import type { AuditEvent } from '../src/core/audit/events.js'
import { verifyAuditChain } from '../src/core/audit/events.js'
import { loadKeyring } from '../src/core/format/keyring.js'
import { maif } from './helpers/cli.js'

const events = (path: string): AuditEvent[] => readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditEvent)

t.test('pipeline sessions and key use, then reads, in the audit log', async (t) => {
  const dir = t.testdir()
  const keys = join(dir, 'keys')
  t.equal((await maif(['keygen', '--out', keys])).code, 0)
  const kr = await loadKeyring(keys)
  writeFileSync(join(dir, 'in.jsonl'), Array.from({ length: 50 }, (_, i) => JSON.stringify({ i })).join('\n') + '\n')
  const out = join(dir, 'c.maif')
  writeFileSync(join(dir, 'p.yaml'), `source: { type: file, path: ${join(dir, 'in.jsonl')}, format: jsonl }\ntransforms:\n  - { type: frame, blockRecords: 5 }\n  - { type: encrypt, keyring: ${keys} }\nsinks: { mode: all, outputs: [{ type: container, path: ${out} }] }\n`)
  const log = join(dir, 'run-audit.jsonl')
  const env = { MAIF_AUDIT_LOG: log, MAIF_USER: 'svc-writer' }
  const first = await maif(['run', join(dir, 'p.yaml'), '--no-progress'], { env })
  t.equal(first.code, 0, first.stderr)
  const run1 = events(log)
  t.strictSame(run1.map((e) => e.event.action), ['key.use', 'container.create', 'container.close'], 'one event each per session, none per block (10 blocks were written)')
  const [key, create, close] = run1 as [AuditEvent, AuditEvent, AuditEvent]
  t.match(key, { event: { outcome: 'success' }, user: { id: 'svc-writer' }, maif: { key_provider: 'local', operation: 'generate-data-key', wrapping_key_ids: [kr.keyId] } })
  t.ok(key.tags.includes('nist-800-53:SC-12'))
  t.match(create, { file: { path: out }, maif: { encrypted: true, container_id: /^[0-9a-f]{32}$/ } })
  t.match(close, { event: { outcome: 'success' }, maif: { commits: Number, container_id: create.maif.container_id, session_id: create.maif.session_id } })
  t.ok((close.maif.commits as number) >= 1)
  t.equal(verifyAuditChain(run1).ok, true)
  t.equal(new Set(run1.map((e) => e.maif.audit.log_id)).size, 1, 'one log per run')
  t.notMatch(readFileSync(log, 'utf8'), /wrapped|plaintext|"key":/, 'no key material')

  // A second run appends a session: container.open this time.
  t.equal((await maif(['run', join(dir, 'p.yaml'), '--no-progress'], { env })).code, 0)
  t.strictSame(events(log).slice(3).map((e) => e.event.action), ['key.use', 'container.open', 'container.close'])

  // Readers: cat unwraps each session's key once (two sessions), then records the decrypt.
  const rlog = join(dir, 'read-audit.jsonl')
  const cat = await maif(['cat', out, '--keyring', keys, '--jsonl'], { env: { MAIF_AUDIT_LOG: rlog } })
  t.equal(cat.code, 0, cat.stderr)
  const reads = events(rlog)
  t.strictSame(reads.map((e) => `${e.event.action}:${String(e.maif.operation ?? '')}`), ['key.use:decrypt-data-key', 'key.use:decrypt-data-key', 'container.decrypt:'])
  t.equal(verifyAuditChain(reads).ok, true)
  t.equal(new Set(reads.map((e) => e.maif.audit.log_id)).size, 1, 'one log per invocation')
  const audit = await maif(['audit', rlog])
  t.equal(audit.code, 0, audit.stdout)

  // The wrong keyring: the failed unwrap is on record.
  const other = join(dir, 'other')
  t.equal((await maif(['keygen', '--out', other])).code, 0)
  const wlog = join(dir, 'wrong-audit.jsonl')
  const wrong = await maif(['verify', out, '--keyring', other], { env: { MAIF_AUDIT_LOG: wlog } })
  t.not(wrong.code, 0)
  t.match(events(wlog)[0], { event: { action: 'key.use', outcome: 'failure' }, error: { code: String }, maif: { operation: 'decrypt-data-key' } })
})

t.test('with the audit stage, the session and key-use events are audit blocks of the container itself', async (t) => {
  const { runPipeline } = await import('../src/core/runtime/engine.js')
  await import('../src/builtins.js')
  const dir = t.testdir()
  const keys = join(dir, 'keys')
  t.equal((await maif(['keygen', '--out', keys])).code, 0)
  const kr = await loadKeyring(keys)
  writeFileSync(join(dir, 'in.jsonl'), Array.from({ length: 40 }, (_, i) => JSON.stringify({ i })).join('\n') + '\n')
  const out = join(dir, 'a.maif')
  const report = await runPipeline({
    source: { type: 'file', path: 'in.jsonl', format: 'jsonl' },
    transforms: [{ type: 'audit', user: 'svc' }, { type: 'frame', blockRecords: 10 }, { type: 'encrypt', keyring: keys }],
    sinks: { mode: 'all', outputs: [{ type: 'container', path: out }] },
  }, { cwd: dir })
  t.equal(report.reconciled, true, 'the events the sink adds are not counted as records the source sent')
  t.equal(report.delivered, 40)
  const audit = await maif(['audit', out, '--keyring', keys, '--json'])
  t.equal(audit.code, 0, audit.stdout)
  const r = JSON.parse(audit.stdout) as { ok: boolean; chain: { logs: unknown[] }; events: AuditEvent[] }
  const actions = r.events.map((e) => e.event.action)
  t.equal(actions.filter((a) => a === 'key.use').length, 1)
  t.equal(actions.filter((a) => a === 'container.create').length, 1)
  t.ok(actions.includes('pipeline.start') && actions.includes('records.ingest'))
  t.equal(r.chain.logs.length, 2, "the sink's log beside the stage's, both chain-valid")
  t.match(r.events.find((e) => e.event.action === 'key.use'), { maif: { operation: 'generate-data-key', wrapping_key_ids: [kr.keyId] } })
  // All 40 records are in the container once.
  const cat = await maif(['cat', out, '--keyring', keys, '--type', 'JSON'])
  t.equal(cat.stdout.split('\n').filter(Boolean).length, 40)
})
