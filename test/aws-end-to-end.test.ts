// Issue 7's end-to-end case, on loopback against a real moto server: a pipeline packs JSONL objects from one S3
// prefix into rolling containers under another, with data keys from AWS KMS and checkpoints signed by a KMS key,
// and no keyring anywhere. `maif verify s3://…/` passes on the prefix; `maif cat s3://…` returns the records
// byte-identical; one flipped byte in one object makes verify fail and name that object.
import t from 'tap'
import { join } from 'node:path'
import { writeFile } from 'node:fs/promises'
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms'
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { startMoto } from './helpers/moto.js'
import { maif } from './helpers/cli.js'
import { removeDir, scratchDir } from './helpers/container.js'

t.test('S3 prefix → rolling S3 containers with KMS data keys and a KMS signer', async (t) => {
  const moto = await startMoto(t)
  const kms = new KMSClient(moto.clientConfig)
  const s3 = new S3Client({ ...moto.clientConfig, forcePathStyle: true })
  t.teardown(() => { kms.destroy(); s3.destroy() })
  const dataKey = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!
  const signKey = (await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!
  await s3.send(new CreateBucketCommand({ Bucket: 'agents' }))
  const want: string[] = []
  for (let o = 0; o < 4; o++) {
    const lines = Array.from({ length: 250 }, (_, n) => JSON.stringify({ agent: `a${o}`, n, msg: `step ${n} of task ${o}`, pad: 'x'.repeat(n % 40) }))
    want.push(...lines)
    await s3.send(new PutObjectCommand({ Bucket: 'agents', Key: `raw/2026/obj-${o}.jsonl`, Body: lines.join('\n') + '\n' }))
  }

  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const env = { ...moto.env, MAIF_KEYRING: '' }
  const def = join(dir, 's3-kms.yaml')
  await writeFile(def, [
    'name: s3-kms',
    'source: { type: s3, url: "s3://agents/raw/", format: jsonl }',
    'transforms:',
    '  - { type: frame, blockRecords: 100 }',
    '  - { type: compress, codec: zstd }',
    `  - { type: encrypt, kms: { keyId: ${dataKey} } }`,
    '  - { type: chain }',
    `  - { type: sign, kms: { keyId: ${signKey} } }`,
    'sink: { type: s3, url: "s3://agents/packed/", roll: { records: 400 } }',
    `deadLetter: { type: file, path: ${join(dir, 'dead.jsonl')} }`,
    '',
  ].join('\n'))

  const run = await maif(['run', def, '--no-progress', '--log-level', 'warn', '--json'], { env })
  t.equal(run.code, 0, run.stderr)
  const report = JSON.parse(run.stdout) as { reconciled: boolean; delivered: number }
  t.equal(report.reconciled, true)
  t.equal(report.delivered, want.length)

  const parts = ((await s3.send(new ListObjectsV2Command({ Bucket: 'agents', Prefix: 'packed/' }))).Contents ?? []).map((c) => c.Key!).sort()
  t.ok(parts.length >= 2, `rolled into several objects (a batch is never split across parts): ${parts.join(', ')}`)

  const pub = join(dir, 'kms.pub')
  t.equal((await maif(['pubkey', '--kms-key-id', signKey, '-o', pub], { env })).code, 0)
  const verified = await maif(['verify', 's3://agents/packed/', '--pub', pub], { env })
  t.equal(verified.code, 0, `every object verifies against the KMS signer: ${verified.stdout}${verified.stderr}`)

  // cat needs no key flag: KMS unwraps each session's data key.
  let got = ''
  for (const k of parts) {
    const c = await maif(['cat', `s3://agents/${k}`, '--pub', pub, '--jsonl'], { env })
    t.equal(c.code, 0, c.stderr)
    got += c.stdout
  }
  t.equal(got, want.join('\n') + '\n', 'the records come back byte-identical, in order')

  // One flipped byte in one object: verify of the prefix fails and names it.
  const victim = parts[1]!
  const body = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: 'agents', Key: victim }))).Body!.transformToByteArray())
  const at = Math.floor(body.length / 2)
  body.writeUInt8(body.readUInt8(at) ^ 0x01, at)
  await s3.send(new PutObjectCommand({ Bucket: 'agents', Key: victim, Body: body }))
  const bad = await maif(['verify', 's3://agents/packed/', '--pub', pub], { env })
  t.equal(bad.code, 1)
  t.match(bad.stdout + bad.stderr, new RegExp(`failed: s3://agents/${victim.replace(/[/.]/g, '\\$&')}`), 'the damaged object is named')
})
