// Grants in the library read API: verifyContainerWithGrant and readBlockWithGrant (exported from 'maif') hand
// over only the blocks a grant covers; refused reads throw MAIF_ERR_ACCESS_DENIED and are audited as
// access.denied events in the caller's audit log; an expired grant, or one that expires during a read, is refused.
import '../src/builtins.js'
import t from 'tap'
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import { AuditLogger, ContainerReader, readBlockWithGrant, verifyAuditChain, verifyContainerWithGrant, type AuditEvent, type Grant } from '../src/index.js'
import { runPipeline } from '../src/core/runtime/engine.js'
import { freshKeyring } from './helpers/engine.js'

t.test('grants through the public read API', async (t) => {
  const dir = t.testdir()
  const keys = await freshKeyring(dir)
  writeFileSync(join(dir, 'in.jsonl'), Array.from({ length: 30 }, (_, i) => JSON.stringify({ i })).join('\n') + '\n')
  const file = join(dir, 's.maif')
  await runPipeline({
    source: { type: 'file', path: 'in.jsonl', format: 'jsonl' },
    transforms: [{ type: 'frame', blockRecords: 10, classification: { level: 'SECRET', compartments: ['ALPHA'] } }, { type: 'encrypt', keyring: keys.dir }],
    sinks: { mode: 'all', outputs: [{ type: 'container', path: file }] },
  }, { cwd: dir })
  const base = { keyProvider: keys.keyring, pinned: [keys.keyring.signer.publicKey] }
  const read = async (grant: Grant, extra: { now?: () => number } = {}): Promise<{ got: number[]; events: AuditEvent[]; err: unknown; denied?: number }> => {
    const events: AuditEvent[] = []
    const audit = new AuditLogger({ user: 'reader-app', write: (e) => events.push(e) })
    const got: number[] = []
    try {
      const r = await verifyContainerWithGrant(file, { ...base, ...extra, grant, audit, onBlock: (b) => { got.push(b.seq) } })
      return { got, events, err: undefined, denied: r.denied }
    } catch (err) {
      return { got, events, err }
    }
  }

  const cleared = await read({ user: 'alice', clearance: 'TOP SECRET', compartments: ['ALPHA'], expires: new Date(Date.now() + 3600e3).toISOString() })
  t.equal(cleared.err, undefined)
  t.equal(cleared.got.length, 3, 'every block handed over')
  t.equal(cleared.denied, 0)
  t.equal(cleared.events.length, 0)

  const low = await read({ user: 'bob', clearance: 'CONFIDENTIAL', compartments: ['ALPHA'] })
  t.match(low.err, { code: 'MAIF_ERR_ACCESS_DENIED', message: /3 block\(s\) withheld.*bob/ })
  t.strictSame(low.got, [], 'nothing handed over')
  t.equal(low.events.length, 3, 'each refusal audited')
  t.match(low.events[0], { event: { action: 'access.denied', outcome: 'failure' }, error: { code: 'MAIF_ERR_ACCESS_DENIED' }, maif: { label: 'SECRET//ALPHA', grant_user: 'bob' }, file: { path: file } })
  t.equal(verifyAuditChain(low.events).ok, true, 'the refusals are a valid audit chain')

  const expired = await read({ user: 'dave', clearance: 'TOP SECRET', compartments: ['ALPHA'], expires: '2020-01-01T00:00:00Z' })
  t.match(expired.err, { code: 'MAIF_ERR_ACCESS_DENIED' })
  t.match(expired.events[0]?.event.reason, /expired/)
  t.strictSame(expired.got, [])

  // A grant that expires during the read: the clock passes the expiry after the first block.
  const expiry = Date.parse('2030-01-01T00:00:00Z')
  let calls = 0
  const midway = await read({ user: 'erin', clearance: 'SECRET', compartments: ['ALPHA'], expires: new Date(expiry).toISOString() }, { now: () => (calls++ === 0 ? expiry - 1000 : expiry + 1000) })
  t.match(midway.err, { code: 'MAIF_ERR_ACCESS_DENIED', message: /2 block\(s\)/ })
  t.equal(midway.got.length, 1, 'only the block read before the expiry')

  // Random access.
  const reader = await ContainerReader.open(file, base)
  try {
    const seq = cleared.got[1]!
    const ok = await readBlockWithGrant(reader, seq, { grant: { user: 'alice', clearance: 'SECRET', compartments: ['ALPHA'] } })
    t.equal(JSON.parse(ok.data.toString('utf8').split('\n')[0]!).i, 10)
    const events: AuditEvent[] = []
    await t.rejects(readBlockWithGrant(reader, seq, { grant: { user: 'carol', clearance: 'SECRET' }, audit: (e) => { events.push(new AuditLogger().emit(e)) } }), { code: 'MAIF_ERR_ACCESS_DENIED', message: /not read into compartment/ })
    t.equal(events.length, 1)
  } finally {
    await reader.close()
  }
})
