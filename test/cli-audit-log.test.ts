// MAIF_AUDIT_LOG: verify, cat and recover each append a hash-chained audit event (who, what, which container,
// outcome, and for recover the bytes it cut) to a JSONL log that `maif audit` verifies. No record content and
// no key material reaches the log.
import t from 'tap'
import { join } from 'node:path'
import { appendFileSync, readFileSync, statSync } from 'node:fs'
import { maif } from './helpers/cli.js'
import { generateKeyring, loadKeyring } from '../src/core/format/keyring.js'
import { writeContainer } from '../src/core/container/writer.js'
import type { AuditEvent } from '../src/core/audit/events.js'

t.test('verify, cat and recover are on record', async (t) => {
  const dir = t.testdir()
  const keys = join(dir, 'k')
  await generateKeyring(keys)
  const kr = await loadKeyring(keys)
  const c = join(dir, 'c.maif')
  await writeContainer(c, Array.from({ length: 30 }, (_, i) => ({ i, msg: `confidential body ${i}` })), { keyProvider: kr, signer: kr.signer, framer: { blockRecords: 10 }, fsync: 'never' })
  const log = join(dir, 'audit.jsonl')
  const env = { MAIF_AUDIT_LOG: log, MAIF_USER: 'carol' }
  t.equal((await maif(['verify', c, '--keyring', keys], { env })).code, 0)
  t.equal((await maif(['cat', c, '--keyring', keys, '--jsonl'], { env })).code, 0)
  const size = statSync(c).size
  appendFileSync(c, Buffer.alloc(100, 0xab)) // a torn tail
  t.equal((await maif(['verify', c, '--keyring', keys], { env })).code, 1)
  t.equal((await maif(['recover', c, '--keyring', keys], { env })).code, 0)
  t.equal(statSync(c).size, size)

  const all = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditEvent)
  // Each command that unwraps the session key records that key use first (audit-key-use.test.ts covers them).
  t.strictSame(all.filter((e) => e.event.action === 'key.use').map((e) => e.event.outcome), ['success', 'success', 'success'])
  const events = all.filter((e) => e.event.action !== 'key.use')
  t.strictSame(events.map((e) => [e.event.action, e.event.outcome]), [['container.verify', 'success'], ['container.decrypt', 'success'], ['container.verify', 'failure'], ['container.recover', 'success']])
  t.ok(events.every((e) => e.user.id === 'carol' && e.file?.path === c && typeof e.host.name === 'string' && e.process.pid > 0))
  t.match(events[0], { maif: { tree_size: Number, root: String, decrypted: true } })
  t.match(events[1], { maif: { blocks_decrypted: 3 } })
  t.match(events[2], { error: { code: String } })
  t.match(events[3], { maif: { action: 'cut', bytes_cut: 100 } })
  const text = readFileSync(log, 'utf8')
  t.notMatch(text, /confidential body/, 'no record content')
  t.notMatch(text, new RegExp(readFileSync(join(keys, 'maif.key'), 'utf8').slice(40, 80).replace(/[^A-Za-z0-9]/g, '.')), 'no key material')

  const r = await maif(['audit', log])
  t.equal(r.code, 0, r.stdout)
  t.match(r.stdout, /^OK .*: 7 audit events in 4 log\(s\)/m, 'one log per invocation')
  const only = JSON.parse((await maif(['audit', log, '--json', '--action', 'container.recover'])).stdout) as { events: AuditEvent[] }
  t.equal(only.events.length, 1)
})
