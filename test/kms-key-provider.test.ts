// KMS as the key provider of writer sessions, against a real moto server: GenerateDataKey once per session with
// the session's encryption context, recorded in the session box; Decrypt on read with the same context; a reader
// that was given no KMS settings unwraps through KMS because the session says so; several keys wrap one data key.
import t from 'tap'
import { join } from 'node:path'
import { open } from 'node:fs/promises'
import { CreateKeyCommand, DecryptCommand, KMSClient } from '@aws-sdk/client-kms'
import { startMoto } from './helpers/moto.js'
import { jsonRecords, makeKeys, removeDir, scratchDir, writeOpts } from './helpers/container.js'
import { writeContainer } from '../src/core/container/writer.js'
import { verifyContainer } from '../src/core/container/verify.js'
import { scanBoxes } from '../src/core/container/scanner.js'
import { decodeSession, HEADER_LEN, type SessionInfo } from '../src/core/format/format.js'
import { KmsKeyProvider } from '../src/core/format/kms/key-provider.js'
import { readKeyProvider } from '../src/core/format/kms/read-keys.js'
import { sessionContext } from '../src/core/format/open-block.js'

async function sessions(path: string): Promise<Array<{ sessionId: Buffer; info: SessionInfo }>> {
  const fh = await open(path, 'r')
  try {
    const out = []
    for await (const b of scanBoxes(fh, (await fh.stat()).size)) if (b.header.type === 'sess') out.push(decodeSession(b.bytes.subarray(HEADER_LEN), b.offset))
    return out
  } finally {
    await fh.close()
  }
}

async function records(path: string, opts: Parameters<typeof verifyContainer>[1]): Promise<{ ok: boolean; errors: unknown[]; lines: unknown[] }> {
  const lines: unknown[] = []
  const r = await verifyContainer(path, { ...opts, onBlock: (b) => { lines.push(...b.data.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown)) } })
  return { ok: r.ok, errors: r.errors, lines }
}

t.test('KMS data keys', async (t) => {
  const moto = await startMoto(t)
  const kms = new KMSClient(moto.clientConfig)
  t.teardown(() => kms.destroy())
  const keyA = (await kms.send(new CreateKeyCommand({ Description: 'maif A' }))).KeyMetadata!
  const keyB = (await kms.send(new CreateKeyCommand({ Description: 'maif B' }))).KeyMetadata!
  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const keys = await makeKeys(join(dir, 'keys'))

  await t.test('a session records its KMS wrapping and context, and a reader with no KMS settings unwraps it', async (t) => {
    const path = join(dir, 'one.maif')
    const writer = new KmsKeyProvider({ keyIds: [keyA.KeyId!], client: kms })
    await writeContainer(path, jsonRecords(12), writeOpts(keys, { keyProvider: writer }))
    const [s] = await sessions(path)
    t.equal(s!.info.keyProvider, 'aws-kms', 'the key-wrap kind is aws-kms')
    t.equal(s!.info.keyId, keyA.Arn, 'the wrapping key is named by its ARN')
    t.same(s!.info.context, { container: s!.info.context!.container, session: s!.sessionId.toString('hex'), purpose: 'maif-session' })
    t.equal(s!.info.extraWraps, undefined, 'one key, one wrap')
    // The wrapped key really is a KMS ciphertext bound to that context: KMS itself unwraps it.
    const ctx = s!.info.context!
    const pt = (await kms.send(new DecryptCommand({ CiphertextBlob: Buffer.from(s!.info.wrappedKey!, 'base64'), EncryptionContext: ctx }))).Plaintext!
    t.equal(pt.length, 32, 'an AES-256 data key')
    await t.rejects(kms.send(new DecryptCommand({ CiphertextBlob: Buffer.from(s!.info.wrappedKey!, 'base64'), EncryptionContext: { ...ctx, purpose: 'other' } })), { name: 'InvalidCiphertextException' }, 'KMS binds it to the context')

    // The reader gets the local keyring only (or nothing): the session's own kind sends it to KMS.
    const reader = readKeyProvider(keys.keyring, { client: kms })
    const got = await records(path, { pinned: [keys.pub], keyProvider: reader })
    t.ok(got.ok, JSON.stringify(got.errors))
    t.same(got.lines, jsonRecords(12), 'every record decrypts')
    const bare = await records(path, { pinned: [keys.pub], keyProvider: readKeyProvider(undefined, { client: kms }) })
    t.same(bare.lines, jsonRecords(12), 'no keyring needed for a KMS session')
    const localOnly = await verifyContainer(path, { pinned: [keys.pub], keyProvider: keys.keyring })
    t.equal(localOnly.ok, false, 'the keyring alone cannot unwrap a KMS session')
    t.match(localOnly.errors[0], { code: 'MAIF_ERR_KEY_UNAVAILABLE' })
  })

  await t.test('a container mixing keyring and KMS sessions reads with the keyring alone', async (t) => {
    const path = join(dir, 'mixed.maif')
    await writeContainer(path, jsonRecords(5), writeOpts(keys))
    await writeContainer(path, jsonRecords(5, 5), writeOpts(keys, { keyProvider: new KmsKeyProvider({ keyIds: [keyA.KeyId!], client: kms }) }))
    t.same((await sessions(path)).map((s) => s.info.keyProvider), ['local', 'aws-kms'])
    const got = await records(path, { pinned: [keys.pub], keyProvider: readKeyProvider(keys.keyring, { client: kms }) })
    t.ok(got.ok, JSON.stringify(got.errors))
    t.same(got.lines, jsonRecords(10))
  })

  await t.test('several keys wrap the same data key, and any one of them unwraps it', async (t) => {
    const path = join(dir, 'two-keys.maif')
    const writer = new KmsKeyProvider({ keyIds: [keyA.KeyId!, keyB.Arn!], client: kms })
    await writeContainer(path, jsonRecords(6), writeOpts(keys, { keyProvider: writer }))
    const [s] = await sessions(path)
    t.equal(s!.info.keyId, keyA.Arn)
    t.same(s!.info.extraWraps?.map((w) => w.keyId), [keyB.Arn], 'the second key is recorded beside the first')
    const ctx = s!.info.context!
    const a = (await kms.send(new DecryptCommand({ CiphertextBlob: Buffer.from(s!.info.wrappedKey!, 'base64'), EncryptionContext: ctx }))).Plaintext!
    const b = (await kms.send(new DecryptCommand({ CiphertextBlob: Buffer.from(s!.info.extraWraps![0]!.wrappedKey, 'base64'), EncryptionContext: ctx }))).Plaintext!
    t.same(Buffer.from(a), Buffer.from(b), 'both wraps hold the same data key')

    // The first wrap fails (here: a ciphertext KMS rejects), so the reader falls back to the second.
    const reader = new KmsKeyProvider({ client: kms, cacheSize: 0 })
    const wraps = [{ keyId: keyA.Arn!, wrapped: Buffer.from('not a kms ciphertext') }, { keyId: keyB.Arn!, wrapped: Buffer.from(s!.info.extraWraps![0]!.wrappedKey, 'base64') }]
    const key = await reader.decryptDataKey('aws-kms', wraps, ctx)
    t.same(key.export(), Buffer.from(a), 'the second wrap unwraps the data key')
    await t.rejects(reader.decryptDataKey('aws-kms', wraps.slice(0, 1), ctx), { code: 'MAIF_ERR_KMS_INVALID_CIPHERTEXT' }, 'with no usable wrap, the failure is typed')
    const got = await records(path, { pinned: [keys.pub], keyProvider: readKeyProvider(undefined, { client: kms }) })
    t.same(got.lines, jsonRecords(6))
  })

  await t.test('Decrypt uses the session context: a session box copied into another container does not unwrap', async (t) => {
    const path = join(dir, 'ctx.maif')
    await writeContainer(path, jsonRecords(3), writeOpts(keys, { keyProvider: new KmsKeyProvider({ keyIds: [keyA.KeyId!], client: kms }) }))
    const [s] = await sessions(path)
    const reader = new KmsKeyProvider({ client: kms })
    const wraps = [{ keyId: s!.info.keyId!, wrapped: Buffer.from(s!.info.wrappedKey!, 'base64') }]
    const other = sessionContext(Buffer.alloc(16, 7), s!.sessionId)
    await t.rejects(reader.decryptDataKey('aws-kms', wraps, other), { code: 'MAIF_ERR_KMS_INVALID_CIPHERTEXT' })
    t.equal(reader.cachedKeys, 0, 'a failed unwrap caches nothing')
  })

  await t.test('a key that does not exist fails the write with a typed error, before any byte', async (t) => {
    const path = join(dir, 'missing-key.maif')
    const writer = new KmsKeyProvider({ keyIds: ['alias/does-not-exist'], client: kms })
    await t.rejects(writeContainer(path, jsonRecords(3), writeOpts(keys, { keyProvider: writer })), { name: 'MaifError', code: 'MAIF_ERR_KMS_KEY_NOT_FOUND' })
    const { existsSync } = await import('node:fs')
    t.notOk(existsSync(path), 'no output file is left behind')
  })
})
