// A pipeline whose container sink takes its data keys and its signing key from AWS KMS (encrypt.kms, sign.kms),
// against a real moto server: no keyring anywhere, validate passes, run packs, and the result verifies against
// the KMS public key and reads back byte-identical.
import t from 'tap'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeFile } from 'node:fs/promises'
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms'
import { startMoto } from './helpers/moto.js'
import { maif } from './helpers/cli.js'
import { removeDir, scratchDir } from './helpers/container.js'
import '../src/builtins.js'
import { lintPipelineFile } from '../src/core/runtime/pipeline-def.js'

t.test('the KMS example pipeline lints clean', async (t) => {
  t.strictSame(await lintPipelineFile(fileURLToPath(new URL('../pipelines/agent-logs-to-container-kms.yaml', import.meta.url)), { env: {} }), [])
})

t.test('maif run with encrypt.kms and sign.kms', async (t) => {
  const moto = await startMoto(t)
  const kms = new KMSClient(moto.clientConfig)
  t.teardown(() => kms.destroy())
  const dataA = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!
  const dataB = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!
  const signKey = (await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!
  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const env = { ...moto.env, MAIF_KEYRING: '' }
  const input = join(dir, 'in.jsonl')
  const lines = Array.from({ length: 30 }, (_, i) => JSON.stringify({ i, tool: 'search', ok: i % 3 !== 0 })).join('\n') + '\n'
  await writeFile(input, lines)
  const out = join(dir, 'out.maif')
  const def = join(dir, 'kms.yaml')
  await writeFile(def, [
    'name: kms-pipeline',
    `source: { type: file, path: ${input}, format: jsonl }`,
    'transforms:',
    '  - { type: frame, blockRecords: 8 }',
    '  - { type: compress, codec: zstd }',
    `  - type: encrypt`,
    `    kms: { keyId: [${dataA}, ${dataB}] }`,
    '  - { type: chain }',
    `  - type: sign`,
    `    alg: ecdsa-p256`,
    `    kms: { keyId: ${signKey} }`,
    `sink: { type: container, path: ${out} }`,
    `deadLetter: { type: file, path: ${out}.dead.jsonl }`,
    '',
  ].join('\n'))

  const v = await maif(['validate', def], { env })
  t.equal(v.code, 0, `validate needs no keyring when KMS holds every key: ${v.stdout}${v.stderr}`)
  const r = await maif(['run', def, '--no-progress', '--log-level', 'silent', '--json'], { env })
  t.equal(r.code, 0, r.stderr)

  const pub = join(dir, 'kms.pub')
  t.equal((await maif(['pubkey', '--kms-key-id', signKey, '-o', pub], { env })).code, 0)
  const verified = await maif(['verify', out, '--pub', pub, '--json'], { env })
  t.equal(verified.code, 0, verified.stdout + verified.stderr)
  t.equal((JSON.parse(verified.stdout) as { records: number }).records, 30)
  const cat = await maif(['cat', out, '--pub', pub], { env })
  t.equal(cat.code, 0, cat.stderr)
  t.equal(cat.stdout, lines, 'records byte-identical')

  const both = join(dir, 'both.yaml')
  await writeFile(both, (await import('node:fs')).readFileSync(def, 'utf8').replace(`kms: { keyId: ${signKey} }`, `kms: { keyId: ${signKey} }\n    keyring: ${dir}`))
  const bad = await maif(['run', both, '--no-progress', '--log-level', 'silent'], { env })
  t.not(bad.code, 0, 'sign with both a keyring and kms is refused')
  t.match(bad.stderr, /not both/)
})
