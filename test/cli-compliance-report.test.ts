// maif compliance report: each control met only with evidence from a real verification of the container and
// its audit trail; a container without audit blocks, in plaintext, tampered with or with no pinned signer
// reports the controls that depend on those as not met or not assessable; exit 0 only with nothing not met.
import '../src/builtins.js'
import t from 'tap'
import { join } from 'node:path'
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import { runPipeline } from '../src/core/runtime/engine.js'
import { freshKeyring } from './helpers/engine.js'
import { maif } from './helpers/cli.js'

interface Control { id: string; title: string; status: 'met' | 'not-met' | 'cannot-assess'; evidence: string[]; basis: string[] }
interface Report { framework: string; ok: boolean; summary: Record<string, number>; controls: Control[]; cannotAssess: string[] }

const report = async (args: string[], env: Record<string, string> = {}): Promise<{ code: number; r: Report; stderr: string }> => {
  const res = await maif(['compliance', 'report', ...args, '--json'], { env })
  return { code: res.code, r: res.code === 2 ? ({} as Report) : JSON.parse(res.stdout) as Report, stderr: res.stderr }
}
const byId = (r: Report): Map<string, Control> => new Map(r.controls.map((c) => [c.id, c]))

t.test('a labelled, encrypted, signed container with audit blocks and a log of refused reads: its controls are met, with evidence', async (t) => {
  const dir = t.testdir()
  const keys = await freshKeyring(dir)
  writeFileSync(join(dir, 'in.jsonl'), Array.from({ length: 30 }, (_, i) => JSON.stringify({ i, note: `record ${i}` })).join('\n') + '\n')
  const good = join(dir, 'good.maif')
  await runPipeline({
    source: { type: 'file', path: 'in.jsonl', format: 'jsonl' },
    transforms: [{ type: 'audit', user: 'svc-agent' }, { type: 'frame', blockRecords: 10, classification: { level: 'SECRET', compartments: ['ALPHA'] } }, { type: 'encrypt', keyring: keys.dir }, { type: 'chain' }, { type: 'sign' }],
    sinks: { mode: 'all', outputs: [{ type: 'container', path: good }] },
  }, { cwd: dir })
  // A reader without the clearance is refused, and the refusal is on record.
  const log = join(dir, 'access.jsonl')
  writeFileSync(join(dir, 'bob.json'), JSON.stringify({ user: 'bob', clearance: 'CONFIDENTIAL', compartments: ['ALPHA'] }))
  const denied = await maif(['cat', good, '--keyring', keys.dir, '--jsonl', '--grant', join(dir, 'bob.json')], { env: { MAIF_AUDIT_LOG: log } })
  t.equal(denied.code, 1)

  const { code, r, stderr } = await report(['--framework', 'fisma', good, '--keyring', keys.dir, '--audit-log', log])
  t.equal(code, 0, stderr)
  t.equal(r.ok, true)
  const c = byId(r)
  for (const id of ['AU-2', 'AU-3', 'AU-9', 'AU-10', 'SI-7', 'SC-13', 'SC-28', 'AC-3', 'AC-16']) {
    t.equal(c.get(id)?.status, 'met', `${id} met: ${c.get(id)?.evidence.join(' | ')}`)
    t.ok((c.get(id)?.evidence.length ?? 0) > 0, `${id} has evidence`)
  }
  t.match(c.get('AU-2')!.evidence.join('\n'), /pipeline\.start ×1/)
  t.match(c.get('AU-2')!.evidence.join('\n'), /records\.ingest ×/)
  t.match(c.get('AU-9')!.evidence.join('\n'), /audit hash chain intact/)
  t.match(c.get('AU-10')!.evidence.join('\n'), /ecdsa-p256/)
  t.match(c.get('SC-28')!.evidence.join('\n'), /every block was decrypted and its tag authenticated/)
  t.match(c.get('SC-13')!.evidence.join('\n'), /AES-256-GCM/)
  t.match(c.get('AC-16')!.evidence.join('\n'), /SECRET\/\/ALPHA ×3/)
  t.match(c.get('AC-3')!.evidence.join('\n'), /3 refused block reads/)
  for (const id of ['AU-11', 'IA-5', 'SC-12', 'AC-12']) t.equal(c.get(id)?.status, 'cannot-assess', `${id} is beyond a container`)
  t.ok(r.cannotAssess.includes('AU-11'), 'the report names what it cannot speak to')

  // Without the access log, enforcement is not shown: AC-3 cannot be assessed, never met.
  const noLog = await report(['--framework', 'fisma', good, '--keyring', keys.dir])
  t.equal(byId(noLog.r).get('AC-3')?.status, 'cannot-assess')
  // Without the keyring the encrypted audit blocks cannot be read: AU-2/AU-3 cannot be assessed.
  const pubOnly = await report(['--framework', 'fisma', good, '--pub', join(keys.dir, 'maif.pub')])
  t.equal(pubOnly.code, 0, 'cannot-assess is not a failure')
  t.equal(byId(pubOnly.r).get('AU-2')?.status, 'cannot-assess')
  t.match(byId(pubOnly.r).get('AU-2')?.evidence[0], /--keyring/)
  t.equal(byId(pubOnly.r).get('AU-10')?.status, 'met')
  // Without a pinned key the signatures prove consistency only: AU-10 cannot be assessed.
  const unpinned = await report(['--framework', 'fisma', good], { MAIF_KEYRING: '' })
  t.equal(byId(unpinned.r).get('AU-10')?.status, 'cannot-assess')

  // The other frameworks name their own requirements, decided from the same checks.
  const pci = await report(['--framework', 'pci-dss', good, '--keyring', keys.dir, '--audit-log', log])
  t.equal(pci.code, 0)
  t.match(byId(pci.r).get('10.3.2'), { status: 'met', basis: ['AU-9'] })
  t.match(byId(pci.r).get('3.5.1'), { status: 'met' })
  t.match(byId(pci.r).get('10.5.1'), { status: 'cannot-assess' })
  const hipaa = await report(['--framework', 'hipaa', good, '--keyring', keys.dir, '--audit-log', log])
  t.match(byId(hipaa.r).get('164.312(b)'), { status: 'met' })
  t.match(byId(hipaa.r).get('164.312(a)(2)(iv)'), { status: 'met' })
  const stig = await report(['--framework', 'stig', good, '--keyring', keys.dir])
  t.match(byId(stig.r).get('V-222507 (AU-9(3))'), { status: 'met' })

  const text = await maif(['compliance', 'report', '--framework', 'fisma', good, '--keyring', keys.dir])
  t.equal(text.code, 0)
  t.match(text.stdout, /MET {12}AU-9/)
  t.match(text.stdout, /CANNOT ASSESS {2}AU-11/)

  // A tampered block: integrity, non-repudiation and audit protection are not met; exit 1.
  const bad = join(dir, 'tampered.maif')
  copyFileSync(good, bad)
  const info = JSON.parse((await maif(['inspect', good, '--json'])).stdout) as { blocks: Array<{ offset: number; size: number; type: string }> }
  const b = info.blocks.find((x) => x.type === 'JSON')!
  const bytes = readFileSync(bad)
  bytes[b.offset + b.size - 5]! ^= 0x01
  writeFileSync(bad, bytes)
  const tampered = await report(['--framework', 'fisma', bad, '--keyring', keys.dir])
  t.equal(tampered.code, 1)
  t.equal(tampered.r.ok, false)
  const tc = byId(tampered.r)
  for (const id of ['SI-7', 'AU-10', 'AU-9']) t.equal(tc.get(id)?.status, 'not-met', `${id} not met on a tampered container`)
  t.match(tc.get('SI-7')!.evidence.join('\n'), /FAILED/)
})

t.test('a plaintext container without audit blocks or labels: AU-2, AU-3, AU-9, SC-28, AC-3, AC-16 not met', async (t) => {
  const dir = t.testdir()
  const keys = await freshKeyring(dir)
  writeFileSync(join(dir, 'in.jsonl'), '{"a":1}\n{"a":2}\n')
  const plain = join(dir, 'plain.maif')
  const packed = await maif(['pack', join(dir, 'in.jsonl'), '-o', plain, '--keyring', keys.dir, '--plaintext'])
  t.equal(packed.code, 0, packed.stderr)
  const { code, r } = await report(['--framework', 'fisma', plain, '--keyring', keys.dir])
  t.equal(code, 1)
  const c = byId(r)
  for (const id of ['AU-2', 'AU-3', 'AU-9', 'SC-28', 'AC-3', 'AC-16']) t.equal(c.get(id)?.status, 'not-met', `${id}: ${c.get(id)?.evidence.join(' | ')}`)
  t.match(c.get('AU-2')!.evidence[0], /no audit \(AUDT\) blocks/)
  t.match(c.get('SC-28')!.evidence.join('\n'), /stored in plaintext/)
  t.equal(c.get('SI-7')?.status, 'met', 'it is intact, only unprotected')
  t.equal(c.get('AU-10')?.status, 'met')
  const pci = await report(['--framework', 'pci-dss', plain, '--keyring', keys.dir])
  t.equal(pci.code, 1)
  t.match(byId(pci.r).get('3.5.1'), { status: 'not-met' })
})

t.test('usage: a framework is required and must be known (exit 2)', async (t) => {
  const dir = t.testdir()
  writeFileSync(join(dir, 'x.jsonl'), '{}\n')
  for (const args of [['report', join(dir, 'x.jsonl')], ['report', '--framework', 'sox', join(dir, 'x.jsonl')], ['report', '--framework', 'fisma', join(dir, 'x.jsonl')]]) {
    const r = await maif(['compliance', ...args])
    t.equal(r.code, 2, args.join(' '))
    t.match(r.stderr, /MAIF_ERR_USAGE/)
  }
})
