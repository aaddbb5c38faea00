// A malformed --witness file is a usage error (exit 2, MAIF_ERR_USAGE), never a verdict on the container.
import t from 'tap'
import { join } from 'node:path'
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { maif } from './helpers/cli.js'
import { verifyContainer } from '../src/core/container/verify.js'

const SAMPLE = fileURLToPath(new URL('../samples/agent-logs.jsonl', import.meta.url))

t.test('verify --witness with a malformed witness exits 2 and names the witness', async (t) => {
  const dir = t.testdir()
  t.equal((await maif(['keygen', '--out', join(dir, 'k')])).code, 0)
  const out = join(dir, 'a.maif')
  t.equal((await maif(['pack', SAMPLE, '-o', out, '--keyring', join(dir, 'k')])).code, 0)
  const good = await maif(['verify', out, '--keyring', join(dir, 'k'), '--json'])
  t.equal(good.code, 0)
  const w = JSON.parse(good.stdout) as { treeSize: number; root: string }
  t.equal(Buffer.from(w.root, 'base64').length, 32, 'precondition: a real witness has a 32-byte root')
  writeFileSync(join(dir, 'good.json'), good.stdout)
  t.equal((await maif(['verify', out, '--keyring', join(dir, 'k'), '--witness', join(dir, 'good.json')])).code, 0, 'the real witness is accepted')

  const cases: Array<[string, unknown]> = [
    ['short root', { ...w, root: Buffer.alloc(31, 1).toString('base64') }],
    ['long root', { ...w, root: Buffer.alloc(33, 1).toString('base64') }],
    ['empty root', { ...w, root: '' }],
    ['root that is not base64', { ...w, root: '!!not base64!!' }],
    ['negative tree size', { ...w, treeSize: -1 }],
    ['fractional tree size', { ...w, treeSize: 1.5 }],
    ['no root', { treeSize: w.treeSize }],
    ['not an object', [w]],
  ]
  for (const [name, body] of cases) {
    const f = join(dir, `${name.replace(/\W+/g, '-')}.json`)
    writeFileSync(f, JSON.stringify(body))
    const r = await maif(['verify', out, '--keyring', join(dir, 'k'), '--witness', f])
    t.equal(r.code, 2, `${name}: exit 2 (usage), not 1`)
    t.match(r.stderr, /MAIF_ERR_USAGE: --witness .* is not a verify --json output/, `${name}: a usage error that names the witness`)
    t.notMatch(r.stderr + r.stdout, /container is malformed/, `${name}: the container is not blamed`)
  }
  t.equal(readFileSync(out).length > 0, true)
})

t.test('the API refuses a malformed witness as an invalid option', async (t) => {
  const dir = t.testdir()
  await maif(['keygen', '--out', join(dir, 'k')])
  const out = join(dir, 'a.maif')
  await maif(['pack', SAMPLE, '-o', out, '--keyring', join(dir, 'k')])
  await t.rejects(verifyContainer(out, { witness: { treeSize: 3, root: Buffer.alloc(5) } }), { code: 'MAIF_ERR_INVALID_OPTION', message: /32 bytes/ })
  await t.rejects(verifyContainer(out, { witness: { treeSize: -2, root: Buffer.alloc(32) } }), { code: 'MAIF_ERR_INVALID_OPTION' })
})
