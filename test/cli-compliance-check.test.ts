// maif compliance check: the crypto module (OpenSSL version, FIPS state) and the algorithms of a container or a
// pipeline, each with its approval and standard; --fips and security.fips: true fail closed outside FIPS mode.
import '../src/builtins.js'
import t from 'tap'
import { join } from 'node:path'
import { existsSync, writeFileSync } from 'node:fs'
import { getFips } from 'node:crypto'
import { maif } from './helpers/cli.js'
import { generateKeyring, loadKeyring } from '../src/core/format/keyring.js'
import { writeContainer } from '../src/core/container/writer.js'
import { runPipeline } from '../src/core/runtime/engine.js'
import { errorOf } from './helpers/engine.js'

interface Report { ok: boolean; module: { openssl: string; fips: boolean; statement: string }; algorithms: Array<{ algorithm: string; status: string; reference: string }>; problems: string[]; notes: string[] }
const json = async (args: string[]): Promise<{ code: number; r: Report }> => {
  const res = await maif(['compliance', 'check', ...args, '--json'])
  return { code: res.code, r: JSON.parse(res.stdout) as Report }
}

t.test('this machine: the module as it is, FIPS not active, so --fips fails', { skip: getFips() === 1 && 'this test describes a machine without FIPS' }, async (t) => {
  const plain = await json([])
  t.equal(plain.code, 0)
  t.equal(plain.r.module.openssl, process.versions.openssl)
  t.equal(plain.r.module.fips, false)
  t.match(plain.r.module.statement, /not run in a validated module/)
  const gate = await json(['--fips'])
  t.equal(gate.code, 1)
  t.match(gate.r.problems, [/FIPS mode is not active/])
  const text = await maif(['compliance', 'check'])
  t.match(text.stdout, new RegExp(`OpenSSL ${process.versions.openssl.replace(/[.+]/g, '\\$&')}`))
  t.notMatch(text.stdout, /140-2/, 'no FIPS 140-2 claims')
})

t.test('a container: its algorithms, approved with their standards; an Ed25519 pipeline is conditional', async (t) => {
  const dir = t.testdir()
  const keys = join(dir, 'k')
  await generateKeyring(keys)
  const kr = await loadKeyring(keys)
  const c = join(dir, 'c.maif')
  await writeContainer(c, [{ a: 1 }], { keyProvider: kr, signer: kr.signer, fsync: 'never' })
  const { code, r } = await json([c])
  t.equal(code, 0)
  const by = new Map(r.algorithms.map((a) => [a.algorithm, a]))
  t.match(by.get('AES-256-GCM'), { status: 'approved', reference: /SP 800-38D/ })
  t.match(by.get('ECDSA P-256 with SHA-256'), { status: 'approved', reference: 'FIPS 186-5' })
  t.match(by.get('HKDF-SHA-512'), { status: 'approved', reference: /800-56C/ })
  t.match(by.get('SHA-256'), { status: 'approved', reference: 'FIPS 180-4' })
  t.match(by.get('CRC-32'), { status: 'not-security' })

  const ed = join(dir, 'ed')
  t.equal((await maif(['keygen', '--out', ed, '--alg', 'ed25519'])).code, 0)
  const p = join(dir, 'p.yaml')
  writeFileSync(p, `source: { type: file, path: in.jsonl, format: jsonl }\ntransforms:\n  - { type: compress, codec: gzip }\n  - { type: encrypt, keyring: ${ed} }\nsinks: { mode: all, outputs: [{ type: container, path: out.maif }] }\n`)
  const pr = await json([p])
  t.equal(pr.code, 0, 'without --fips it reports, it does not gate')
  const pby = new Map(pr.r.algorithms.map((a) => [a.algorithm, a]))
  t.match(pby.get('Ed25519'), { status: 'conditional' })
  t.match(pby.get('gzip/DEFLATE'), { status: 'not-security' })
  const gated = await json([p, '--fips'])
  t.equal(gated.code, 1)
  t.ok(gated.r.problems.some((x) => /Ed25519/.test(x)), 'Ed25519 is named')
})

t.test('security.fips: true refuses to start outside FIPS mode, before anything is written', { skip: getFips() === 1 && 'FIPS is active here' }, async (t) => {
  const dir = t.testdir()
  writeFileSync(join(dir, 'in.jsonl'), '{"a":1}\n')
  const err = await errorOf(runPipeline({
    name: 'fips', security: { fips: true },
    source: { type: 'file', path: 'in.jsonl', format: 'jsonl' },
    sinks: { mode: 'all', outputs: [{ type: 'file', path: 'out.jsonl' }] },
  }, { cwd: dir }))
  t.equal(err?.code, 'MAIF_ERR_FIPS')
  t.match(err?.message, /--enable-fips/)
  t.notOk(existsSync(join(dir, 'out.jsonl')))
})
