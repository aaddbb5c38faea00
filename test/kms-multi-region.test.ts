// Keys in two regions wrap one data key: each KMS request goes to the region its key ARN names (a KMS key lives
// in one region), and either region's key alone unwraps the session. Real moto server, which keeps keys per region.
import t from 'tap'
import { join } from 'node:path'
import { open } from 'node:fs/promises'
import { CreateKeyCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms'
import { startMoto } from './helpers/moto.js'
import { jsonRecords, makeKeys, removeDir, scratchDir, writeOpts } from './helpers/container.js'
import { writeContainer } from '../src/core/container/writer.js'
import { verifyContainer } from '../src/core/container/verify.js'
import { scanBoxes } from '../src/core/container/scanner.js'
import { decodeSession, HEADER_LEN } from '../src/core/format/format.js'
import { KmsKeyProvider } from '../src/core/format/kms/key-provider.js'

t.test('KMS keys in two regions wrap one data key', async (t) => {
  const moto = await startMoto(t)
  // The providers below build their own clients: credentials come from the SDK's default chain (the environment).
  for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_EC2_METADATA_DISABLED'] as const) process.env[k] = moto.env[k]
  const us = new KMSClient({ ...moto.clientConfig, region: 'us-east-1' })
  const eu = new KMSClient({ ...moto.clientConfig, region: 'eu-west-1' })
  t.teardown(() => { us.destroy(); eu.destroy() })
  const usKey = (await us.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!
  const euKey = (await eu.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!
  t.match(euKey, /^arn:aws:kms:eu-west-1:/)
  await t.rejects(us.send(new EncryptCommand({ KeyId: euKey, Plaintext: Buffer.alloc(32) })), 'the eu-west-1 key does not exist in us-east-1')

  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const keys = await makeKeys(join(dir, 'keys'))
  const aws = { region: 'us-east-1', endpoint: moto.endpoint }
  const writer = new KmsKeyProvider({ keyIds: [usKey, euKey], aws })
  t.teardown(() => writer.destroy())
  const path = join(dir, 'two-regions.maif')
  await writeContainer(path, jsonRecords(8), writeOpts(keys, { keyProvider: writer }))

  const fh = await open(path, 'r')
  let info
  try {
    for await (const b of scanBoxes(fh, (await fh.stat()).size)) if (b.header.type === 'sess') info = decodeSession(b.bytes.subarray(HEADER_LEN), b.offset).info
  } finally {
    await fh.close()
  }
  t.equal(info!.keyId, usKey)
  t.same(info!.extraWraps!.map((w) => w.keyId), [euKey], 'the eu-west-1 wrap was made in eu-west-1')

  // A reader whose default region is eu-west-1 and that can only use the eu wrap.
  const euReader = new KmsKeyProvider({ aws: { region: 'eu-west-1', endpoint: moto.endpoint }, cacheSize: 0 })
  t.teardown(() => euReader.destroy())
  const key = await euReader.decryptDataKey('aws-kms', [{ keyId: euKey, wrapped: Buffer.from(info!.extraWraps![0]!.wrappedKey, 'base64') }], info!.context!)
  t.equal(key.symmetricKeySize, 32)

  let records = 0
  const r = await verifyContainer(path, { pinned: [keys.pub], keyProvider: euReader, onBlock: (b) => { records += b.data.toString().split('\n').filter(Boolean).length } })
  t.ok(r.ok, JSON.stringify(r.errors))
  t.equal(records, 8, 'a reader in eu-west-1 reads the whole container (the us-east-1 wrap goes to us-east-1)')
})
