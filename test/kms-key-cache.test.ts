// The read path keeps a bounded cache of unwrapped KMS data keys: a session already unwrapped is not sent to
// KMS again (shown by reading it after KMS went away), and the cache never holds more than its bound.
import t from 'tap'
import { join } from 'node:path'
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms'
import { startMoto } from './helpers/moto.js'
import { jsonRecords, makeKeys, removeDir, scratchDir, writeOpts } from './helpers/container.js'
import { writeContainer } from '../src/core/container/writer.js'
import { verifyContainer } from '../src/core/container/verify.js'
import { KmsKeyProvider } from '../src/core/format/kms/key-provider.js'

t.test('unwrapped KMS keys are cached, within a bound', async (t) => {
  const moto = await startMoto(t)
  // Few retries, so the unreachable case below answers quickly; the SDK still does the retrying.
  const kms = new KMSClient({ ...moto.clientConfig, maxAttempts: 2 })
  t.teardown(() => kms.destroy())
  const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!
  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const keys = await makeKeys(join(dir, 'keys'))
  const path = join(dir, 'three-sessions.maif')
  for (let s = 0; s < 3; s++) await writeContainer(path, jsonRecords(4, s * 4), writeOpts(keys, { keyProvider: new KmsKeyProvider({ keyIds: [keyId], client: kms }) }))

  const read = async (p: KmsKeyProvider): Promise<{ ok: boolean; records: number; errors: unknown[] }> => {
    let records = 0
    const r = await verifyContainer(path, { pinned: [keys.pub], keyProvider: p, onBlock: (b) => { records += b.data.toString().split('\n').filter(Boolean).length } })
    return { ok: r.ok, records, errors: r.errors }
  }

  const small = new KmsKeyProvider({ client: kms, cacheSize: 2 })
  const a = await read(small)
  t.ok(a.ok, JSON.stringify(a.errors))
  t.equal(a.records, 12)
  t.equal(small.cachedKeys, 2, 'three sessions read, two keys kept: the bound holds')

  const cached = new KmsKeyProvider({ client: kms })
  t.ok((await read(cached)).ok)
  t.equal(cached.cachedKeys, 3)

  await moto.stop()
  const again = await read(cached)
  t.ok(again.ok, 'with KMS gone, the cached keys still read the container: no Decrypt was needed')
  t.equal(again.records, 12)

  const fresh = await read(new KmsKeyProvider({ client: kms }))
  t.equal(fresh.ok, false, 'a reader without the cache cannot, since KMS is unreachable')
  t.match(fresh.errors[0], { code: 'MAIF_ERR_KMS_UNREACHABLE' })
})
