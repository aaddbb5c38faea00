// Idle-session limit: a long-lived reader that reads nothing for idleMs is closed, the closure audited
// (session.idle_timeout, AC-12), and later reads fail with MAIF_ERR_SESSION_IDLE until it is opened again.
import t from 'tap'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { AuditLogger, IdleLimitedReader, type AuditEvent } from '../src/index.js'
import { generateKeyring, loadKeyring } from '../src/core/format/keyring.js'
import { writeContainer } from '../src/core/container/writer.js'

t.test('an idle reader is closed and audited; an active one is not', async (t) => {
  const dir = t.testdir()
  const keys = join(dir, 'k')
  await generateKeyring(keys)
  const kr = await loadKeyring(keys)
  const file = join(dir, 'c.maif')
  await writeContainer(file, Array.from({ length: 20 }, (_, i) => ({ i })), { keyProvider: kr, signer: kr.signer, framer: { blockRecords: 10 }, fsync: 'never' })
  const base = { keyProvider: kr, pinned: [kr.signer.publicKey] }

  await t.rejects(IdleLimitedReader.open(file, { ...base, idleMs: 0 }), { code: 'MAIF_ERR_INVALID_OPTION' })

  // A limit far above the test's duration: reads work and the reader stays open.
  const patient = await IdleLimitedReader.open(file, { ...base, idleMs: 3_600_000 })
  const seqs = patient.reader.dataEntries('JSON').map((e) => e.seq)
  t.equal(seqs.length, 2)
  t.equal(JSON.parse((await patient.readBlock(seqs[0]!)).data.toString('utf8').split('\n')[0]!).i, 0)
  t.equal(patient.state, 'open')
  await patient.close()
  await t.rejects(patient.readBlock(seqs[0]!), { code: 'MAIF_ERR_SESSION_IDLE', message: /is closed/ })

  // A short limit: once it passes without a read, the reader is closed and the closure recorded.
  const events: AuditEvent[] = []
  const idle = await IdleLimitedReader.open(file, { ...base, idleMs: 50, audit: new AuditLogger({ user: 'long-reader', write: (e) => events.push(e) }) })
  for (let waited = 0; idle.state === 'open' && waited < 30_000; waited += 25) await sleep(25)
  t.equal(idle.state, 'idle')
  await t.rejects(idle.readBlock(seqs[0]!), { code: 'MAIF_ERR_SESSION_IDLE', message: /idle-session limit/ })
  t.throws(() => idle.reader, { code: 'MAIF_ERR_SESSION_IDLE' })
  t.equal(events.length, 1)
  t.match(events[0], { event: { action: 'session.idle_timeout' }, user: { id: 'long-reader' }, file: { path: file }, maif: { idle_ms: 50 } })
  t.ok(events[0]!.tags.includes('nist-800-53:AC-12'))
  // Opening again works: the limit ends a session, not access.
  const again = await IdleLimitedReader.open(file, { ...base, idleMs: 3_600_000 })
  t.ok((await again.readBlock(seqs[1]!)).data.length > 0)
  await again.close()
})
