// KMS failures become typed MaifErrors (MAIF_ERR_KMS_*) with the SDK error as cause: each exception the KMS API
// documents maps to the code a caller acts on, and a real refusal from the moto server arrives typed.
import t from 'tap'
import {
  CreateKeyCommand, KMSServiceException, DependencyTimeoutException, DisabledException, IncorrectKeyException, InvalidCiphertextException,
  InvalidKeyUsageException, KeyUnavailableException, KMSClient, KMSInternalException, KMSInvalidStateException, NotFoundException,
} from '@aws-sdk/client-kms'
import { startMoto } from './helpers/moto.js'
import { kmsError } from '../src/core/format/kms/errors.js'
import { KmsKeyProvider } from '../src/core/format/kms/key-provider.js'
import { sessionContext } from '../src/core/format/open-block.js'

t.test('each KMS exception maps to its MAIF_ERR_KMS_* code, keeping the cause', async (t) => {
  const meta = { $metadata: {} }
  const cases = [
    // Not a modelled KMS exception: the SDK raises it as a KMSServiceException named after the error type.
    [new KMSServiceException({ name: 'AccessDeniedException', $fault: 'client', message: 'no', ...meta }), 'MAIF_ERR_KMS_ACCESS_DENIED'],
    [new NotFoundException({ message: 'no', ...meta }), 'MAIF_ERR_KMS_KEY_NOT_FOUND'],
    [new DisabledException({ message: 'no', ...meta }), 'MAIF_ERR_KMS_KEY_DISABLED'],
    [new KMSInvalidStateException({ message: 'pending deletion', ...meta }), 'MAIF_ERR_KMS_KEY_DISABLED'],
    [new InvalidKeyUsageException({ message: 'no', ...meta }), 'MAIF_ERR_KMS_KEY_USAGE'],
    [new InvalidCiphertextException({ message: 'no', ...meta }), 'MAIF_ERR_KMS_INVALID_CIPHERTEXT'],
    [new IncorrectKeyException({ message: 'no', ...meta }), 'MAIF_ERR_KMS_INVALID_CIPHERTEXT'],
    [new KeyUnavailableException({ message: 'no', ...meta }), 'MAIF_ERR_KMS_UNREACHABLE'],
    [new DependencyTimeoutException({ message: 'no', ...meta }), 'MAIF_ERR_KMS_UNREACHABLE'],
    [new KMSInternalException({ message: 'no', ...meta }), 'MAIF_ERR_KMS_UNREACHABLE'],
    [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'MAIF_ERR_KMS_UNREACHABLE'],
  ] as const
  for (const [err, code] of cases) {
    const e = kmsError('KMS Decrypt with key k', err)
    t.equal(e.code, code, err.name)
    t.equal(e.cause, err, `${err.name} is kept as the cause`)
    t.match(e.message, /^KMS Decrypt with key k failed/)
  }
})

t.test('a refusal from the server arrives typed', async (t) => {
  const moto = await startMoto(t)
  const kms = new KMSClient(moto.clientConfig)
  t.teardown(() => kms.destroy())
  const a = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!
  const b = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!
  const ctx = sessionContext(Buffer.alloc(16, 1), Buffer.alloc(16, 2))
  const dk = await new KmsKeyProvider({ keyIds: [a], client: kms }).generateDataKey(ctx)
  // A wrap recorded under the wrong key id (a tampered session box): AWS answers IncorrectKeyException, moto
  // AccessDeniedException; either way the reader gets a typed KMS error and no key.
  const reader = new KmsKeyProvider({ client: kms })
  const err = await reader.decryptDataKey('aws-kms', [{ keyId: b, wrapped: dk.wraps[0].wrapped }], ctx).then(() => null, (e: unknown) => e as { code: string; cause: unknown })
  t.ok(err && ['MAIF_ERR_KMS_ACCESS_DENIED', 'MAIF_ERR_KMS_INVALID_CIPHERTEXT'].includes(err.code), `typed: ${err?.code}`)
  t.ok(err?.cause, 'with its cause')
  t.equal(reader.cachedKeys, 0)
})
