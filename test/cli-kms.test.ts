// The CLI with AWS KMS (a real moto server, reached through the SDK's own environment variables): pack with KMS
// data keys (two keys) and a KMS signer and no keyring; pubkey exports the signer's public key as maif.pub does;
// verify --pub pins it; cat reads the KMS sessions with no key flag at all.
import t from 'tap'
import { join } from 'node:path'
import { readFile, writeFile } from 'node:fs/promises'
import { createPublicKey } from 'node:crypto'
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms'
import { startMoto } from './helpers/moto.js'
import { maif } from './helpers/cli.js'
import { removeDir, scratchDir } from './helpers/container.js'

t.test('maif pack / pubkey / verify / cat with KMS', async (t) => {
  const moto = await startMoto(t)
  const kms = new KMSClient(moto.clientConfig)
  t.teardown(() => kms.destroy())
  const dataA = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!
  const dataB = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!
  const signKey = (await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!
  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const env = { ...moto.env, MAIF_KEYRING: '' }
  const input = join(dir, 'in.jsonl')
  const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ i, agent: 'a', msg: `line ${i}` })).join('\n') + '\n'
  await writeFile(input, lines)
  const out = join(dir, 'out.maif')

  const packed = await maif(['pack', input, '-o', out, '--kms-key-id', dataA, '--kms-key-id', dataB, '--kms-sign-key-id', signKey, '--block-records', '10'], { env })
  t.equal(packed.code, 0, packed.stderr)
  t.match(packed.stdout, /packed 40 record/)

  const pub = join(dir, 'kms.pub')
  const pk = await maif(['pubkey', '--kms-key-id', signKey, '-o', pub], { env })
  t.equal(pk.code, 0, pk.stderr)
  const pem = await readFile(pub, 'utf8')
  t.match(pem, /^-----BEGIN PUBLIC KEY-----\n/, 'PEM SPKI, as maif.pub')
  t.equal(createPublicKey(pem).asymmetricKeyDetails?.namedCurve, 'prime256v1')
  t.equal((await maif(['pubkey', '--kms-key-id', signKey, '-o', pub], { env })).code, 2, 'an existing file is not replaced without --force')

  const v = await maif(['verify', out, '--pub', pub, '--json'], { env })
  t.equal(v.code, 0, v.stderr)
  const r = JSON.parse(v.stdout) as { ok: boolean; records: number; signers: Array<{ pinned: boolean; alg: string }> }
  t.equal(r.records, 40)
  t.same(r.signers.map((s) => [s.alg, s.pinned]), [['ecdsa-p256', true]], 'the KMS key is the pinned signer')

  const other = join(dir, 'keys')
  t.equal((await maif(['keygen', '--out', other], { env })).code, 0)
  const wrong = await maif(['verify', out, '--pub', join(other, 'maif.pub')], { env })
  t.equal(wrong.code, 1, 'another pinned key fails verification')
  t.match(wrong.stdout, /MAIF_ERR_SIGNER_UNTRUSTED/)

  const cat = await maif(['cat', out, '--pub', pub], { env })
  t.equal(cat.code, 0, cat.stderr)
  t.equal(cat.stdout, lines, 'cat decrypts the KMS sessions with no keyring: records byte-identical')

  const decrypting = await maif(['verify', out, '--pub', pub, '--keyring', other], { env })
  t.equal(decrypting.code, 0, decrypting.stderr)
  t.match(decrypting.stdout, /every block decrypted and authenticated/, 'verify --keyring decrypts KMS sessions through KMS')
})
