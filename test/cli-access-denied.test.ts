// Classification and clearance: blocks carry their label in authenticated cleartext metadata; `maif cat
// --grant` withholds the blocks a grant does not cover (level, compartments, expiry), exits 1 with
// MAIF_ERR_ACCESS_DENIED, and each refusal is an `access.denied` event in the audit log that `maif audit` verifies.
import '../src/builtins.js'
import t from 'tap'
import { join } from 'node:path'
import { readFileSync, writeFileSync } from 'node:fs'
import { runPipeline } from '../src/core/runtime/engine.js'
import { denial, parseLabel, formatLabel } from '../src/core/compliance/access.js'
import type { AuditEvent } from '../src/core/audit/events.js'
import { freshKeyring } from './helpers/engine.js'
import { maif } from './helpers/cli.js'

t.test('labels and grants', async (t) => {
  t.strictSame(parseLabel('SECRET//BRAVO/ALPHA'), { level: 'SECRET', compartments: ['BRAVO', 'ALPHA'] })
  t.equal(formatLabel({ level: 'SECRET', compartments: ['BRAVO', 'ALPHA'] }), 'SECRET//ALPHA/BRAVO')
  t.strictSame(parseLabel(undefined), { level: 'UNCLASSIFIED', compartments: [] })
  t.throws(() => parseLabel('COSMIC'), { code: 'MAIF_ERR_ACCESS_DENIED' }, 'an unknown level is refused, never guessed')
  const now = Date.parse('2026-11-29T00:00:00Z')
  const secret = parseLabel('SECRET//ALPHA')
  t.equal(denial({ user: 'a', clearance: 'TOP SECRET', compartments: ['ALPHA'] }, secret, now), null)
  t.match(denial({ user: 'b', clearance: 'CONFIDENTIAL', compartments: ['ALPHA'] }, secret, now), /above b's clearance CONFIDENTIAL/)
  t.match(denial({ user: 'c', clearance: 'SECRET' }, secret, now), /not read into compartment\(s\) ALPHA/)
  t.match(denial({ user: 'd', clearance: 'TOP SECRET', compartments: ['ALPHA'], expires: '2026-11-28T00:00:00Z' }, secret, now), /expired/)
})

t.test('cat --grant: covered blocks are read, others withheld and audited', async (t) => {
  const dir = t.testdir()
  const keys = await freshKeyring(dir)
  writeFileSync(join(dir, 'in.jsonl'), Array.from({ length: 20 }, (_, i) => JSON.stringify({ i, note: `classified ${i}` })).join('\n') + '\n')
  const out = join(dir, 's.maif')
  await runPipeline({
    source: { type: 'file', path: 'in.jsonl', format: 'jsonl' },
    transforms: [{ type: 'frame', blockRecords: 10, classification: { level: 'SECRET', compartments: ['ALPHA'] } }, { type: 'encrypt', keyring: keys.dir }],
    sinks: { mode: 'all', outputs: [{ type: 'container', path: out }] },
  }, { cwd: dir })
  const info = JSON.parse((await maif(['inspect', out, '--json'])).stdout) as { blocks: Array<{ seq: number; label: string | null }> }
  t.ok(info.blocks.length === 2 && info.blocks.every((b) => b.label === 'SECRET//ALPHA'), 'the label is readable without a key (cleartext, authenticated)')

  const grant = (name: string, g: object): string => { const p = join(dir, `${name}.json`); writeFileSync(p, JSON.stringify(g)); return p }
  const log = join(dir, 'audit.jsonl')
  const env = { MAIF_AUDIT_LOG: log }
  const ok = await maif(['cat', out, '--keyring', keys.dir, '--jsonl', '--grant', grant('alice', { user: 'alice', clearance: 'TOP SECRET', compartments: ['ALPHA'] })], { env })
  t.equal(ok.code, 0, ok.stderr)
  t.equal(ok.stdout.split('\n').filter(Boolean).length, 20)
  for (const [name, g, why] of [
    ['bob', { user: 'bob', clearance: 'CONFIDENTIAL', compartments: ['ALPHA'] }, /above bob's clearance/],
    ['carol', { user: 'carol', clearance: 'SECRET' }, /not read into compartment/],
    ['dave', { user: 'dave', clearance: 'TOP SECRET', compartments: ['ALPHA'], expires: '2020-01-01T00:00:00Z' }, /expired/],
  ] as const) {
    const r = await maif(['cat', out, '--keyring', keys.dir, '--jsonl', '--grant', grant(name, g)], { env })
    t.equal(r.code, 1, `${name} is refused`)
    t.equal(r.stdout, '', `${name} sees nothing`)
    t.match(r.stderr, /MAIF_ERR_ACCESS_DENIED/)
    t.match(r.stderr, why)
  }
  const seq = await maif(['cat', out, '--keyring', keys.dir, '--seq', String(info.blocks[0]!.seq), '--grant', join(dir, 'bob.json')], { env })
  t.equal(seq.code, 1)
  t.match(seq.stderr, /MAIF_ERR_ACCESS_DENIED/, 'random access is checked too')
  t.equal(seq.stdout, '')

  const events = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditEvent)
  const denied = events.filter((e) => e.event.action === 'access.denied')
  t.equal(denied.length, 2 * 3 + 1, 'each withheld block is on record')
  t.ok(denied.every((e) => e.event.outcome === 'failure' && e.error?.code === 'MAIF_ERR_ACCESS_DENIED' && e.maif.label === 'SECRET//ALPHA' && e.tags.includes('nist-800-53:AC-3')))
  t.notMatch(readFileSync(log, 'utf8'), /classified \d/, 'no content in the log')
  const a = await maif(['audit', log, '--action', 'access.denied', '--json'])
  t.equal(a.code, 0)
  t.equal((JSON.parse(a.stdout) as { events: unknown[] }).events.length, 7)
})
