// The audit trail: events carry AU-3's what, when, where, source, outcome and identity under ECS names, chain
// by sequence and hash, and refuse secrets; the `audit` stage writes them as AUDT blocks of the same container,
// so `maif verify` and `maif audit` both fail when an audit block is tampered with.
import '../src/builtins.js'
import t from 'tap'
import { join } from 'node:path'
import { readFileSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { AuditLogger, verifyAuditChain, type AuditEvent } from '../src/core/audit/events.js'
import { runPipeline } from '../src/core/runtime/engine.js'
import { freshKeyring, readContainer } from './helpers/engine.js'
import { maif } from './helpers/cli.js'

t.test('logger: AU-3 fields with ECS names, a sequence and a hash chain that breaks on any change', async (t) => {
  const got: AuditEvent[] = []
  const log = new AuditLogger({ user: 'alice', classification: 'SECRET', write: (e) => got.push(e) })
  log.emit({ action: 'container.open', outcome: 'success', file: { path: '/data/a.maif' } })
  log.emit({ action: 'container.decrypt', outcome: 'failure', reason: 'tag mismatch', error: { code: 'MAIF_ERR_DECRYPT' } })
  log.emit({ action: 'container.verify', outcome: 'success', maif: { tree_size: 12 } })
  const [a, b, c] = got as [AuditEvent, AuditEvent, AuditEvent]
  t.match(a, { event: { action: 'container.open', outcome: 'success', kind: 'event', sequence: 0 }, user: { id: 'alice' }, host: { name: String }, process: { pid: process.pid }, service: { name: 'maif' }, file: { path: '/data/a.maif' }, labels: { classification: 'SECRET', fips_mode: 'false' }, ecs: { version: String } })
  t.ok(Number.isFinite(Date.parse(a['@timestamp'])), 'when')
  t.strictSame([a.event.sequence, b.event.sequence, c.event.sequence], [0, 1, 2])
  t.equal(a.maif.audit.prev_hash, '0'.repeat(64))
  t.equal(b.maif.audit.prev_hash, a.event.hash)
  t.equal(c.maif.audit.prev_hash, b.event.hash)
  t.ok(b.tags.includes('nist-800-53:SC-28') && b.tags.includes('nist-800-53:AU-3'), 'framework tags')
  t.match(b, { error: { code: 'MAIF_ERR_DECRYPT' }, event: { reason: 'tag mismatch' } })
  t.strictSame(verifyAuditChain(got), { ok: true, events: 3, logs: [{ logId: log.logId, events: 3, first: 0, last: 2 }], issues: [] })

  const changed = structuredClone(got)
  changed[1]!.event.outcome = 'success'
  t.match(verifyAuditChain(changed).issues, [{ sequence: 1, message: /changed after it was written/ }])
  t.match(verifyAuditChain([a, c]).issues, [{ sequence: 2, message: /events 1\.\.1 are missing/ }])
  t.match(verifyAuditChain([b, c]).issues, [{ sequence: 1, message: /starts at sequence 1/ }])
  const relinked = structuredClone(got)
  relinked[2]!.maif.audit.prev_hash = a.event.hash
  t.match(verifyAuditChain(relinked).issues[0], { sequence: 2, message: /previous-hash link/ })

  t.throws(() => log.emit({ action: 'key.use', outcome: 'success', maif: { kms: { api_key: 'x' } } }), { code: 'MAIF_ERR_AUDIT', message: /maif\.kms\.api_key/ })
  t.throws(() => log.emit({ action: 'records.ingest', outcome: 'success', maif: { plaintext: 'x' } }), { code: 'MAIF_ERR_AUDIT' })
  t.throws(() => log.emit({ action: 'Bad Action', outcome: 'success' }), { code: 'MAIF_ERR_AUDIT' })
  t.equal(log.sequence, 3, 'a refused event takes no sequence number')
})

t.test('the audit stage writes AUDT blocks in the same signed container; maif verify and maif audit catch a tampered one', async (t) => {
  const dir = t.testdir()
  const keys = await freshKeyring(dir)
  const lines = Array.from({ length: 250 }, (_, i) => JSON.stringify({ i, secret_note: `record body ${i}` }))
  writeFileSync(join(dir, 'in.jsonl'), lines.join('\n') + '\n')
  const out = join(dir, 'out.maif')
  const report = await runPipeline({
    name: 'audited',
    source: { type: 'file', path: 'in.jsonl', format: 'jsonl' },
    transforms: [{ type: 'audit', user: 'svc-agent', classification: 'CONFIDENTIAL', tags: ['pci-dss:10.2'] }, { type: 'frame', blockRecords: 100 }, { type: 'encrypt', keyring: keys.dir }, { type: 'chain' }, { type: 'sign' }],
    sinks: { mode: 'all', outputs: [{ type: 'container', path: out }] },
  }, { cwd: dir })
  t.equal(report.reconciled, true)
  t.ok(report.emitted > 0, 'audit events are counted as emitted, beside the records')
  const back = await readContainer(out, keys.keyring)
  t.equal(back.result.ok, true)
  const audt = back.blocks.filter((b) => b.type === 'AUDT')
  const data = back.blocks.filter((b) => b.type === 'JSON')
  t.ok(audt.length >= 1)
  t.strictSame(data.flatMap((b) => b.data.toString('utf8').split('\n').filter(Boolean)), lines, 'the data is untouched')
  const events = audt.flatMap((b) => b.data.toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditEvent))
  t.equal(verifyAuditChain(events).ok, true)
  // The container sink's own log (its session's key use and creation) rides in the first audit block.
  t.strictSame(events.slice(0, 2).map((e) => e.event.action), ['key.use', 'container.create'])
  t.equal(events.find((e) => e.user.id === 'svc-agent')!.event.action, 'pipeline.start')
  const ingest = events.filter((e) => e.event.action === 'records.ingest')
  t.equal(ingest.reduce((n, e) => n + (e.maif.records as number), 0), 250, 'every record is accounted for')
  t.ok(ingest.every((e) => /^[0-9a-f]{64}$/.test(e.maif.sha256 as string) && e.user.id === 'svc-agent' && e.labels.classification === 'CONFIDENTIAL' && e.tags.includes('pci-dss:10.2')))
  // Each event's count marks its batch: its digest is the SHA-256 of exactly those records' bytes.
  let at = 0
  for (const e of ingest) {
    const n = e.maif.records as number
    const bytes = Buffer.from(lines.slice(at, at + n).map((l) => l + '\n').join(''))
    t.equal(e.maif.sha256, createHash('sha256').update(bytes).digest('hex'), `digest of records ${at}..${at + n - 1}`)
    at += n
  }
  t.notOk(audt.some((b) => b.data.includes('record body')), 'no record content in the audit trail')

  const ok = await maif(['audit', out, '--keyring', keys.dir])
  t.equal(ok.code, 0, ok.stderr)
  t.match(ok.stdout, /records\.ingest success user=svc-agent CONFIDENTIAL/)
  t.match(ok.stdout, new RegExp(`^OK .*: ${events.length} audit events in 2 log\\(s\\); container verified`, 'm'))
  const js = await maif(['audit', out, '--keyring', keys.dir, '--json', '--action', 'pipeline.*'])
  const parsed = JSON.parse(js.stdout) as { ok: boolean; events: AuditEvent[]; chain: { events: number } }
  t.equal(parsed.ok, true)
  t.strictSame(parsed.events.map((e) => e.event.action), ['pipeline.start'])
  t.equal(parsed.chain.events, events.length, 'the whole chain is verified, whatever is listed')
  const none = await maif(['audit', out, '--keyring', keys.dir, '--json', '--since', '2999-01-01T00:00:00Z'])
  t.strictSame((JSON.parse(none.stdout) as { events: unknown[] }).events, [])

  // Flip one byte inside the first audit block's payload.
  const bytes = readFileSync(out)
  bytes[audt[0]!.offset + 80]! ^= 0x01
  const bad = join(dir, 'tampered.maif')
  writeFileSync(bad, bytes)
  const v = await maif(['verify', bad, '--keyring', keys.dir])
  t.equal(v.code, 1, 'maif verify fails')
  const a = await maif(['audit', bad, '--keyring', keys.dir])
  t.equal(a.code, 1, 'maif audit fails')
  t.match(a.stdout, /^FAILED/m)
})

t.test('a JSONL audit log: verified by its chain alone; a deleted line is a gap', async (t) => {
  const dir = t.testdir()
  const lines: string[] = []
  const log = new AuditLogger({ user: 'bob', write: (e) => lines.push(JSON.stringify(e)) })
  for (let i = 0; i < 5; i++) log.emit({ action: 'container.verify', outcome: 'success' })
  writeFileSync(join(dir, 'a.jsonl'), lines.join('\n') + '\n')
  t.equal((await maif(['audit', join(dir, 'a.jsonl')])).code, 0)
  writeFileSync(join(dir, 'b.jsonl'), lines.filter((_, i) => i !== 2).join('\n') + '\n')
  const r = await maif(['audit', join(dir, 'b.jsonl')])
  t.equal(r.code, 1)
  t.match(r.stdout, /seq 3: events 2\.\.2 are missing/)
})
