// A session replayed inside its own container (copied, re-chained and re-signed with the legitimate key) passes
// every per-box check: its blocks keep their session id, counters and AAD. Session ids are unique within a
// container (FORMAT.md §5.2), so verify rejects the second occurrence with MAIF_ERR_DUPLICATE_SESSION.
import t from 'tap'
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import { verifyContainer } from '../src/core/container/verify.js'
import { HEADER_LEN } from '../src/core/format/format.js'
import { buildTwoSessions, makeKeys, parseBoxes, removeDir, scratchDir, verifyBytes } from './helpers/container.js'
import { rebuild } from './helpers/forge.js'
import { maif } from './helpers/cli.js'

t.test('a repeated session id is rejected', async (t) => {
  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const A = await makeKeys(join(dir, 'A'))
  const X = await buildTwoSessions(join(dir, 'x.maif'), A)
  const xb = parseBoxes(X.bytes)
  const raw = xb.map((b) => b.bytes)
  t.same(xb.map((b) => b.header.type), ['fhdr', 'sess', 'JSON', 'JSON', 'JSON', 'JSON', 'indx', 'ckpt', 'tail', 'sess', 'JSON', 'JSON', 'indx', 'ckpt', 'tail'], 'fixture layout')
  const keyed = { pinned: [A.pub], keyProvider: A.keyring }
  const file = join(dir, 'forged.maif')

  const cases: Array<[string, Buffer[]]> = [
    ['session 2 replayed at the end', [...raw, ...raw.slice(9, 15)]],
    ['session 1 replayed at the end', [...raw, ...raw.slice(1, 9)]],
    ['session 1 replayed between 1 and 2', [...raw.slice(0, 9), ...raw.slice(1, 9), ...raw.slice(9)]],
  ]
  for (const [name, boxes] of cases) {
    const forged = await rebuild(boxes, { signer: A.keyring.signer })
    const fb = parseBoxes(forged)
    // The first session box whose id (its first 16 payload bytes) already occurred.
    const seen = new Set<string>()
    const dupAt = fb.filter((b) => b.header.type === 'sess').find((b) => {
      const id = b.bytes.subarray(HEADER_LEN, HEADER_LEN + 16).toString('hex')
      return seen.has(id) || (seen.add(id), false)
    })!.offset
    for (const [mode, opts] of [['pinned', { pinned: [A.pub] }], ['keyed', keyed], ['keyed, reading blocks', { ...keyed, onBlock: () => {} }]] as const) {
      const r = await verifyBytes(file, forged, opts)
      t.equal(r.ok, false, `${name} (${mode}): rejected`)
      t.same({ code: r.errors[0]?.code, offset: r.errors[0]?.offset }, { code: 'MAIF_ERR_DUPLICATE_SESSION', offset: dupAt }, `${name} (${mode}): at the replayed session box`)
    }
  }

  await t.test('through the CLI (verify --keyring --json, and the parallel key-less verify)', async (t) => {
    const forged = await rebuild([...raw, ...raw.slice(9, 15)], { signer: A.keyring.signer })
    const f = join(dir, 'cli.maif')
    writeFileSync(f, forged)
    for (const args of [['--keyring', A.dir], ['--pub', join(A.dir, 'maif.pub')]]) {
      const r = await maif(['verify', f, ...args, '--json'])
      t.equal(r.code, 1, `verify ${args[0]} exits 1`)
      const res = JSON.parse(r.stdout) as { ok: boolean; errors: Array<{ code: string; message: string }> }
      t.equal(res.errors[0]?.code, 'MAIF_ERR_DUPLICATE_SESSION')
      t.match(res.errors[0]?.message, /session [0-9a-f]{32} .*already/)
    }
  })

  t.ok((await verifyContainer(X.path, keyed)).ok, 'the original still verifies')
})
