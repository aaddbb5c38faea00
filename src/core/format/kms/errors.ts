// AWS KMS failures as typed MaifErrors (MAIF_ERR_KMS_*), keeping the SDK error as `cause`. Retrying is not
// done here: the SDK's own retry strategy (standard mode, AWS_MAX_ATTEMPTS) has already retried throttling,
// 5xx and connection errors by the time an error reaches this function.
import { MaifError, type ErrorCode } from '../../errors.js'

const BY_NAME: Record<string, ErrorCode> = {
  AccessDeniedException: 'MAIF_ERR_KMS_ACCESS_DENIED',
  UnrecognizedClientException: 'MAIF_ERR_KMS_ACCESS_DENIED',
  InvalidSignatureException: 'MAIF_ERR_KMS_ACCESS_DENIED',
  ExpiredTokenException: 'MAIF_ERR_KMS_ACCESS_DENIED',
  CredentialsProviderError: 'MAIF_ERR_KMS_ACCESS_DENIED',
  NotFoundException: 'MAIF_ERR_KMS_KEY_NOT_FOUND',
  InvalidArnException: 'MAIF_ERR_KMS_KEY_NOT_FOUND',
  DisabledException: 'MAIF_ERR_KMS_KEY_DISABLED',
  KMSInvalidStateException: 'MAIF_ERR_KMS_KEY_DISABLED',
  InvalidKeyUsageException: 'MAIF_ERR_KMS_KEY_USAGE',
  UnsupportedOperationException: 'MAIF_ERR_KMS_KEY_USAGE',
  ValidationException: 'MAIF_ERR_KMS_KEY_USAGE',
  InvalidCiphertextException: 'MAIF_ERR_KMS_INVALID_CIPHERTEXT',
  IncorrectKeyException: 'MAIF_ERR_KMS_INVALID_CIPHERTEXT',
  KeyUnavailableException: 'MAIF_ERR_KMS_UNREACHABLE',
  DependencyTimeoutException: 'MAIF_ERR_KMS_UNREACHABLE',
  KMSInternalException: 'MAIF_ERR_KMS_UNREACHABLE',
  ThrottlingException: 'MAIF_ERR_KMS_UNREACHABLE',
  TimeoutError: 'MAIF_ERR_KMS_UNREACHABLE',
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE'])

/** The MAIF_ERR_KMS_* code for an SDK or network error. */
export function kmsErrorCode(err: unknown): ErrorCode {
  if (err instanceof MaifError) return err.code
  const e = err as { name?: unknown; code?: unknown; $metadata?: { httpStatusCode?: number }; cause?: unknown } | null
  const name = typeof e?.name === 'string' ? e.name : ''
  const known = BY_NAME[name]
  if (known) return known
  const code = typeof e?.code === 'string' ? e.code : typeof (e?.cause as { code?: unknown } | undefined)?.code === 'string' ? (e!.cause as { code: string }).code : ''
  if (NETWORK_CODES.has(code)) return 'MAIF_ERR_KMS_UNREACHABLE'
  const status = e?.$metadata?.httpStatusCode
  if (status === 403 || status === 401) return 'MAIF_ERR_KMS_ACCESS_DENIED'
  return 'MAIF_ERR_KMS_UNREACHABLE'
}

/** Wraps a KMS failure: `what` says what was attempted (e.g. "GenerateDataKey with key alias/x"). */
export function kmsError(what: string, err: unknown): MaifError {
  if (err instanceof MaifError && err.code.startsWith('MAIF_ERR_KMS_')) return err
  const code = kmsErrorCode(err)
  const attempts = (err as { $metadata?: { attempts?: number } } | null)?.$metadata?.attempts
  const detail = (err instanceof Error ? `${err.name}: ${err.message || (err as { code?: string }).code || 'no message'}` : String(err)) +
    (attempts && attempts > 1 ? `, after ${attempts} attempts` : '')
  const hint: Partial<Record<ErrorCode, string>> = {
    MAIF_ERR_KMS_ACCESS_DENIED: 'check the credentials and the key policy (kms:GenerateDataKey, kms:Encrypt, kms:Decrypt, kms:Sign, kms:GetPublicKey)',
    MAIF_ERR_KMS_KEY_NOT_FOUND: 'check the key id or alias, and AWS_REGION',
    MAIF_ERR_KMS_KEY_DISABLED: 'enable the key, or cancel its deletion',
    MAIF_ERR_KMS_KEY_USAGE: 'data keys need a SYMMETRIC_DEFAULT ENCRYPT_DECRYPT key; signing needs an ECC_NIST_P256 or RSA_3072 SIGN_VERIFY key',
    MAIF_ERR_KMS_INVALID_CIPHERTEXT: 'the session box was written for another key or context, or was altered',
    MAIF_ERR_KMS_UNREACHABLE: 'check the network, AWS_REGION and AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_KMS',
  }
  return new MaifError(code, `${what} failed (${detail}); ${hint[code] ?? ''}`.trim(), { cause: err })
}
