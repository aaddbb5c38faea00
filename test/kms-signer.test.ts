// Checkpoints signed by an asymmetric KMS key (Sign, MessageType RAW; GetPublicKey), against a real moto server.
// The container verifies when that public key is pinned, and not when another is.
import t from 'tap'
import { join } from 'node:path'
import { constants, verify as cryptoVerify } from 'node:crypto'
import { CreateKeyCommand, KMSClient, SignCommand, GetPublicKeyCommand } from '@aws-sdk/client-kms'
import { startMoto } from './helpers/moto.js'
import { jsonRecords, makeKeys, removeDir, scratchDir, writeOpts } from './helpers/container.js'
import { writeContainer } from '../src/core/container/writer.js'
import { verifyContainer } from '../src/core/container/verify.js'
import { KmsSigner, derToP1363, kmsPublicKey } from '../src/core/format/kms/signer.js'
import { KmsKeyProvider } from '../src/core/format/kms/key-provider.js'
import { readKeyProvider } from '../src/core/format/kms/read-keys.js'
import { keyIdOf } from '../src/core/format/signing.js'

t.test('KMS signer', async (t) => {
  const moto = await startMoto(t)
  const kms = new KMSClient(moto.clientConfig)
  t.teardown(() => kms.destroy())
  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const keys = await makeKeys(join(dir, 'keys'))
  const ecKey = (await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!
  const dataKey = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!

  await t.test('ECC_NIST_P256: checkpoints signed in KMS verify against its public key', async (t) => {
    const signer = await KmsSigner.create({ keyId: ecKey, client: kms })
    t.equal(signer.alg, 'ecdsa-p256')
    const pub = await kmsPublicKey(kms, ecKey)
    t.same(signer.keyId, keyIdOf(pub), 'the key id is the SHA-256 of the SPKI KMS publishes')
    const path = join(dir, 'kms-signed.maif')
    await writeContainer(path, jsonRecords(10), writeOpts(keys, { signer, keyProvider: new KmsKeyProvider({ keyIds: [dataKey], client: kms }) }))
    const ok = await verifyContainer(path, { pinned: [pub], keyProvider: readKeyProvider(undefined, { client: kms }) })
    t.ok(ok.ok, JSON.stringify(ok.errors))
    t.equal(ok.records, 10)
    t.same(ok.signers.map((s) => [s.alg, s.pinned]), [['ecdsa-p256', true]])
    const other = await verifyContainer(path, { pinned: [keys.pub] })
    t.equal(other.ok, false, 'pinning another key fails')
    t.match(other.errors[0], { code: 'MAIF_ERR_SIGNER_UNTRUSTED' })
    // Appending with the same KMS key is the same signer: no --allow-new-signer needed.
    await writeContainer(path, jsonRecords(3, 10), writeOpts(keys, { signer, keyProvider: new KmsKeyProvider({ keyIds: [dataKey], client: kms }) }))
    t.ok((await verifyContainer(path, { pinned: [pub] })).ok)
  })

  await t.test('the DER signature KMS returns is converted to the r ‖ s the format stores', async (t) => {
    const msg = Buffer.from('maif checkpoint note')
    const der = Buffer.from((await kms.send(new SignCommand({ KeyId: ecKey, Message: msg, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }))).Signature!)
    const pub = await kmsPublicKey(kms, ecKey)
    t.ok(cryptoVerify('sha256', msg, { key: pub, dsaEncoding: 'der' }, der), 'KMS signs DER')
    const p1363 = derToP1363(der)
    t.equal(p1363.length, 64)
    t.ok(cryptoVerify('sha256', msg, { key: pub, dsaEncoding: 'ieee-p1363' }, p1363), 'the same signature as r ‖ s')
    t.throws(() => derToP1363(Buffer.from([0x30, 0x03, 0x02, 0x01])), { code: 'MAIF_ERR_SIGNATURE' })
  })

  await t.test('a key that is not a signing key of a supported suite is refused before anything is written', async (t) => {
    await t.rejects(KmsSigner.create({ keyId: dataKey, client: kms }), { code: 'MAIF_ERR_KMS_KEY_USAGE' })
    const p384 = (await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P384', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!
    await t.rejects(KmsSigner.create({ keyId: p384, client: kms }), { code: 'MAIF_ERR_KMS_KEY_USAGE' })
    await t.rejects(KmsSigner.create({ keyId: 'alias/no-such-key', client: kms }), { code: 'MAIF_ERR_KMS_KEY_NOT_FOUND' })
  })

  await t.test('RSA_3072 maps to rsa-pss-3072; moto pads PSS with the maximum salt, so its signatures are refused', async (t) => {
    // AWS KMS RSASSA_PSS_SHA_256 uses a 32-byte salt, which is what the format's rsa-pss-3072 verifies.
    // moto 5.2.1 signs with the maximum salt length instead: the signer's probe signature does not verify as
    // rsa-pss-3072, and the signer fails closed when it is created, before any container is opened.
    const rsa = (await kms.send(new CreateKeyCommand({ KeySpec: 'RSA_3072', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!
    const pub = await kmsPublicKey(kms, rsa)
    const msg = Buffer.from('probe')
    const sig = Buffer.from((await kms.send(new SignCommand({ KeyId: rsa, Message: msg, MessageType: 'RAW', SigningAlgorithm: 'RSASSA_PSS_SHA_256' }))).Signature!)
    t.ok(cryptoVerify('sha256', msg, { key: pub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, sig), 'moto signs RSA-PSS-SHA-256')
    t.notOk(cryptoVerify('sha256', msg, { key: pub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig), 'but not with the 32-byte salt AWS uses')
    t.equal((await kms.send(new GetPublicKeyCommand({ KeyId: rsa }))).KeyUsage, 'SIGN_VERIFY')
    await t.rejects(KmsSigner.create({ keyId: rsa, client: kms }), { code: 'MAIF_ERR_SIGNATURE' })
  })
})
