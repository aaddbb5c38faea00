// A passphrase-protected keyring: keygen seals maif.key under a STIG-compliant passphrase (PBKDF2-HMAC-SHA-256,
// AES-256-GCM); every command that loads it needs the passphrase from the environment (a file, or a variable;
// never a flag value), and a missing or wrong one fails with MAIF_ERR_KEYRING_PASSPHRASE, exit 2, nothing written.
import '../src/builtins.js'
import t from 'tap'
import { join } from 'node:path'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { KeyObject } from 'node:crypto'
import { generateKeyring, loadKeyring } from '../src/core/format/keyring.js'
import { maif } from './helpers/cli.js'

const GOOD = 'Correct-Horse-42-Battery!'
const ROTATED = 'Staple#Orbit-7719-Quartz'

t.test('library: sealed on disk, opened only by the passphrase, keys stay KeyObjects', async (t) => {
  const dir = t.testdir()
  const k = join(dir, 'k')
  const made = await generateKeyring(k, { passphrase: GOOD })
  const text = readFileSync(made.keyFile, 'utf8')
  const body = JSON.parse(text) as { 'maif-keyring': number; protection: { kdf: string; iterations: number; cipher: string } }
  t.equal(body['maif-keyring'], 2)
  t.match(body.protection, { kdf: 'pbkdf2-hmac-sha256', iterations: 600000, cipher: 'aes-256-gcm' })
  t.notMatch(text, /masterKey|PRIVATE KEY/, 'no key in the clear')
  const kr = await loadKeyring(k, { passphrase: GOOD })
  t.ok(kr.passphraseProtected)
  t.ok(kr.signer.publicKey instanceof KeyObject)
  t.equal(kr.signer.keyId.toString('hex'), made.keyId)
  // The keys it opens are the keys it sealed: a data key wrapped by one load unwraps with another.
  const dk = await kr.generateDataKey({ c: '1' })
  const again = await loadKeyring(k, { passphrase: GOOD })
  t.ok((await again.decryptDataKey('local', dk.wraps, { c: '1' })).equals(dk.key))
  await t.rejects(loadKeyring(k, { passphrase: GOOD + 'x' }), { code: 'MAIF_ERR_KEYRING_PASSPHRASE', message: /does not open/ })
  const saved = process.env.MAIF_KEYRING_PASSPHRASE
  delete process.env.MAIF_KEYRING_PASSPHRASE
  try {
    await t.rejects(loadKeyring(k), { code: 'MAIF_ERR_KEYRING_PASSPHRASE', message: /MAIF_KEYRING_PASSPHRASE_FILE/ })
  } finally {
    if (saved !== undefined) process.env.MAIF_KEYRING_PASSPHRASE = saved
  }
  // The KDF parameters are bound to the seal: a changed salt or iteration count does not open.
  const changed = JSON.parse(text) as { protection: { iterations: number } }
  changed.protection.iterations = 100001
  writeFileSync(made.keyFile, JSON.stringify(changed))
  await t.rejects(loadKeyring(k, { passphrase: GOOD }), { code: 'MAIF_ERR_KEYRING_PASSPHRASE' })
  changed.protection.iterations = 1000
  writeFileSync(made.keyFile, JSON.stringify(changed))
  await t.rejects(loadKeyring(k, { passphrase: GOOD }), { code: 'MAIF_ERR_KEYRING', message: /at least 100000 iterations/ }, 'a downgraded KDF is refused')
})

t.test('cli: keygen enforces the STIG policy; pack, verify, cat and run need the passphrase', async (t) => {
  const dir = t.testdir()
  const pf = (name: string, p: string): string => { const f = join(dir, name); writeFileSync(f, p + '\n', { mode: 0o600 }); return f }
  const weak = await maif(['keygen', '--out', join(dir, 'weak'), '--passphrase-file', pf('weak.txt', 'password1')])
  t.equal(weak.code, 2)
  t.match(weak.stderr, /MAIF_ERR_PASSPHRASE_POLICY.*at least 15 characters/)
  t.notMatch(weak.stderr, /password1/, 'the passphrase is never echoed')
  t.notOk(existsSync(join(dir, 'weak', 'maif.key')), 'nothing written')

  const keys = join(dir, 'keys')
  const good = pf('good.txt', GOOD)
  const made = await maif(['keygen', '--out', keys, '--passphrase-file', good])
  t.equal(made.code, 0, made.stderr)
  t.match(made.stdout, /sealed under the passphrase/)
  // Rotation: the new passphrase must differ enough from the previous one.
  const close = await maif(['keygen', '--out', join(dir, 'rot1'), '--passphrase-file', pf('close.txt', GOOD.replace('42', '43')), '--previous-passphrase-file', good])
  t.equal(close.code, 2)
  t.match(close.stderr, /changed from the previous/)
  const rotated = await maif(['keygen', '--out', join(dir, 'rot2'), '--passphrase-file', pf('rot.txt', ROTATED), '--previous-passphrase-file', good])
  t.equal(rotated.code, 0, rotated.stderr)

  writeFileSync(join(dir, 'in.jsonl'), '{"a":1}\n{"a":2}\n')
  const out = join(dir, 'c.maif')
  const envGood = { MAIF_KEYRING_PASSPHRASE_FILE: good }
  const envWrong = { MAIF_KEYRING_PASSPHRASE_FILE: pf('wrong.txt', ROTATED) }
  const none = await maif(['pack', join(dir, 'in.jsonl'), '-o', out, '--keyring', keys])
  t.equal(none.code, 2)
  t.match(none.stderr, /MAIF_ERR_KEYRING_PASSPHRASE.*passphrase-protected/)
  t.notOk(existsSync(out), 'no container without the passphrase')
  const wrong = await maif(['pack', join(dir, 'in.jsonl'), '-o', out, '--keyring', keys], { env: envWrong })
  t.equal(wrong.code, 2)
  t.match(wrong.stderr, /MAIF_ERR_KEYRING_PASSPHRASE.*does not open/)
  t.notMatch(wrong.stderr, new RegExp(ROTATED.replace(/[#-]/g, '.')), 'the passphrase is never logged')
  t.notOk(existsSync(out), 'no container with a wrong passphrase')
  const packed = await maif(['pack', join(dir, 'in.jsonl'), '-o', out, '--keyring', keys], { env: { MAIF_KEYRING_PASSPHRASE: GOOD } })
  t.equal(packed.code, 0, packed.stderr)

  const verified = await maif(['verify', out, '--keyring', keys], { env: envGood })
  t.equal(verified.code, 0, verified.stderr)
  const cat = await maif(['cat', out, '--keyring', keys, '--jsonl'], { env: envGood })
  t.equal(cat.code, 0, cat.stderr)
  t.equal(cat.stdout, '{"a":1}\n{"a":2}\n')
  const catWrong = await maif(['cat', out, '--keyring', keys, '--jsonl'], { env: envWrong })
  t.equal(catWrong.code, 2)
  t.equal(catWrong.stdout, '')

  writeFileSync(join(dir, 'p.yaml'), `source: { type: file, path: ${join(dir, 'in.jsonl')}, format: jsonl }\ntransforms:\n  - { type: encrypt, keyring: ${keys} }\nsinks: { mode: all, outputs: [{ type: container, path: ${join(dir, 'run.maif')} }] }\n`)
  const runWrong = await maif(['run', join(dir, 'p.yaml'), '--no-progress'], { env: envWrong })
  t.equal(runWrong.code, 2, runWrong.stderr)
  t.match(runWrong.stderr, /MAIF_ERR_KEYRING_PASSPHRASE/)
  t.notOk(existsSync(join(dir, 'run.maif')), 'the pipeline wrote nothing')
  const run = await maif(['run', join(dir, 'p.yaml'), '--no-progress'], { env: envGood })
  t.equal(run.code, 0, run.stderr)
  t.equal((await maif(['verify', join(dir, 'run.maif'), '--keyring', keys], { env: envGood })).code, 0)
})

t.test('cli: --reseal rotates the passphrase (or protects a clear keyring) and keeps the keys', async (t) => {
  const dir = t.testdir()
  const pf = (name: string, p: string): string => { const f = join(dir, name); writeFileSync(f, p + '\n', { mode: 0o600 }); return f }
  const keys = join(dir, 'keys')
  t.equal((await maif(['keygen', '--out', keys])).code, 0)
  const pub = readFileSync(join(keys, 'maif.pub'), 'utf8')
  writeFileSync(join(dir, 'in.jsonl'), '{"a":1}\n')
  const out = join(dir, 'c.maif')
  t.equal((await maif(['pack', join(dir, 'in.jsonl'), '-o', out, '--keyring', keys])).code, 0)

  const good = pf('good.txt', GOOD)
  const first = await maif(['keygen', '--out', keys, '--reseal', '--passphrase-file', good])
  t.equal(first.code, 0, first.stderr)
  t.notMatch(readFileSync(join(keys, 'maif.key'), 'utf8'), /masterKey|PRIVATE KEY/, 'now sealed')
  t.equal(readFileSync(join(keys, 'maif.pub'), 'utf8'), pub, 'same signing key')
  const cat = async (env: Record<string, string>): Promise<number> => (await maif(['cat', out, '--keyring', keys, '--jsonl'], { env })).code
  t.equal(await cat({ MAIF_KEYRING_PASSPHRASE_FILE: good }), 0, 'the container written before still opens: same master key')
  t.equal(await cat({}), 2)

  const rotated = pf('rot.txt', ROTATED)
  const before = readFileSync(join(keys, 'maif.key'), 'utf8')
  const wrongPrev = await maif(['keygen', '--out', keys, '--reseal', '--passphrase-file', rotated, '--previous-passphrase-file', pf('other.txt', 'Not-The-Old-One-99!')])
  t.equal(wrongPrev.code, 2)
  t.match(wrongPrev.stderr, /MAIF_ERR_KEYRING_PASSPHRASE/)
  t.equal(readFileSync(join(keys, 'maif.key'), 'utf8'), before, 'nothing changed')
  const close = await maif(['keygen', '--out', keys, '--reseal', '--passphrase-file', pf('close.txt', GOOD.replace('42', '43')), '--previous-passphrase-file', good])
  t.equal(close.code, 2)
  t.match(close.stderr, /MAIF_ERR_PASSPHRASE_POLICY.*changed from the previous/)
  const rot = await maif(['keygen', '--out', keys, '--reseal', '--passphrase-file', rotated, '--previous-passphrase-file', good])
  t.equal(rot.code, 0, rot.stderr)
  t.equal(await cat({ MAIF_KEYRING_PASSPHRASE_FILE: rotated }), 0)
  t.equal(await cat({ MAIF_KEYRING_PASSPHRASE_FILE: good }), 2, 'the old passphrase no longer opens it')
})
