// Every error maif throws is a MaifError with a stable code. Codes are API: never rename one, only add.

export const ErrorCodes = {
  // usage and options
  MAIF_ERR_INVALID_OPTION: 'an option passed to a stage or command is invalid',
  MAIF_ERR_USAGE: 'a command was called with wrong arguments',
  MAIF_ERR_IO: 'a file or stream operation failed',
  // format
  MAIF_ERR_HEADER_CRC: 'a box header checksum does not match',
  MAIF_ERR_BOX_SIZE: 'a box size is out of bounds',
  MAIF_ERR_TRUNCATED: 'the container ends in the middle of a box',
  MAIF_ERR_VERSION: 'a box has an unsupported version or flags',
  MAIF_ERR_STRUCTURE: 'boxes are not in a valid order',
  MAIF_ERR_PAYLOAD: 'a box payload is malformed',
  MAIF_ERR_SEQUENCE: 'a box sequence number is wrong',
  MAIF_ERR_COUNTER: 'a data box counter is out of order',
  MAIF_ERR_CHAIN: 'the hash chain is broken',
  MAIF_ERR_INDEX: 'an index entry does not match the box it names',
  MAIF_ERR_CHECKPOINT: 'a checkpoint does not match the data before it',
  MAIF_ERR_SIGNATURE: 'a checkpoint signature is invalid',
  MAIF_ERR_SIGNER_UNTRUSTED: 'a checkpoint was signed by a key that is not pinned',
  MAIF_ERR_TAIL: 'a tail box is invalid',
  MAIF_ERR_TORN: 'the container does not end in a committed tail (run maif recover)',
  MAIF_ERR_UNCOMMITTED: 'boxes follow the last checkpoint',
  MAIF_ERR_WITNESS: 'the container does not match a checkpoint recorded earlier',
  MAIF_ERR_NOT_FOUND: 'the requested block does not exist',
  MAIF_ERR_SIGNER_MISMATCH: 'appending would add a second signer to the container (allow it explicitly)',
  MAIF_ERR_PLAINTEXT_APPEND: 'appending a plaintext session to a container with encrypted sessions (allow it explicitly)',
  MAIF_ERR_BOX_TOO_LARGE: 'a data box, or the plaintext it declares, is larger than the reader accepts (raise it with --max-box)',
  MAIF_ERR_WINDOW: 'a session holds more unverified data before its next checkpoint than the reader may hold',
  MAIF_ERR_RECOVERY_REFUSED: 'recover found damage before a valid checkpoint: it cuts only torn tails (use --salvage)',
  MAIF_ERR_NO_SPACE: 'there is not enough free space to save what recover would cut; nothing was cut',
  MAIF_ERR_LOCKED: 'another writer holds the container lock (FILE.lock)',
  MAIF_ERR_DUPLICATE_SESSION: 'a session id occurs twice in one container (a replayed session)',
  // crypto
  MAIF_ERR_KEY_COMMITMENT: 'the session key does not match its commitment',
  MAIF_ERR_DECRYPT: 'a block failed authentication',
  MAIF_ERR_KEY_UNAVAILABLE: 'a key could not be obtained',
  MAIF_ERR_KEYRING: 'the keyring file is invalid',
  MAIF_ERR_NONCE_EXHAUSTED: 'the session wrote the maximum number of blocks for one key',
  MAIF_ERR_ENCRYPTION_REQUIRED: 'a plaintext block reached a stage that requires encryption',
  MAIF_ERR_CODEC: 'a block could not be decompressed',
  MAIF_ERR_FIPS: 'FIPS mode was required but is not active, or an algorithm is not approved',
  // records
  MAIF_ERR_RECORD: 'a record is malformed',
  MAIF_ERR_RECORD_TOO_LARGE: 'a record exceeds the maximum size',
  // pipeline definitions
  MAIF_ERR_PIPELINE_DEF: 'a pipeline definition is invalid',
  MAIF_ERR_PATH_CONFLICT: 'two configured paths are the same file, or an output is an input',
  MAIF_ERR_ENV: 'an environment variable referenced by a pipeline definition is missing or malformed',

  // AWS (S3, KMS, remote reads)
  MAIF_ERR_KMS_ACCESS_DENIED: 'AWS KMS refused the request: the caller lacks permission for the key (or its credentials are invalid)',
  MAIF_ERR_KMS_KEY_NOT_FOUND: 'the AWS KMS key does not exist (check the key id, alias and region)',
  MAIF_ERR_KMS_KEY_DISABLED: 'the AWS KMS key is disabled or pending deletion',
  MAIF_ERR_KMS_KEY_USAGE: 'the AWS KMS key cannot be used this way (wrong key spec or key usage)',
  MAIF_ERR_KMS_INVALID_CIPHERTEXT: 'AWS KMS could not decrypt a wrapped key: wrong key, wrong encryption context, or tampered ciphertext',
  MAIF_ERR_KMS_UNREACHABLE: 'AWS KMS could not be reached, or kept failing after the SDK retried',
  // S3
  MAIF_ERR_S3_URL: 'an s3:// URL is malformed (s3://BUCKET/KEY, or s3://BUCKET/PREFIX/ for a prefix)',
  MAIF_ERR_S3_NOT_FOUND: 'an S3 bucket or object does not exist',
  MAIF_ERR_S3_ACCESS: 'S3 refused the request (credentials or permissions)',
  MAIF_ERR_S3_CHANGED: 'an S3 object changed while it was being read (its ETag no longer matches)',
  MAIF_ERR_S3_EXISTS: 'the S3 object already exists and S3 objects cannot be appended to (use --force to replace it)',
  MAIF_ERR_S3_UPLOAD: 'an upload to S3 failed; the object was not written',
  MAIF_ERR_S3: 'an S3 request failed',

  // Kafka
  MAIF_ERR_KAFKA_CONNECT: 'the Kafka brokers could not be reached, or refused the client (check brokers, ssl and sasl)',
  MAIF_ERR_KAFKA_DECODE: 'a Kafka message could not be decoded in the source format (it went to the dead letters)',
  MAIF_ERR_KAFKA_CONSUMER: 'the Kafka consumer stopped with an error it could not recover from',
  MAIF_ERR_KAFKA_PRODUCE: 'the Kafka broker did not acknowledge produced records after the retries',

  // compliance: audit, access control, SIEM sinks
  MAIF_ERR_SIEM_UNAVAILABLE: 'a SIEM service (CloudWatch Logs, Elasticsearch, Splunk HEC) kept failing after every retry; nothing was acknowledged',
  MAIF_ERR_SIEM_REJECTED: 'a SIEM service refused an event for good (it went to the dead letters with the reason)',
  MAIF_ERR_SIEM_AUTH: 'a SIEM service refused the credentials or token',
  MAIF_ERR_AUDIT: 'an audit event is malformed, or the audit trail is broken (sequence gap, hash chain)',
  MAIF_ERR_ACCESS_DENIED: 'the reader lacks the clearance or compartments a block requires',
  MAIF_ERR_PASSPHRASE_POLICY: 'a passphrase does not meet the password policy (STIG profile)',
  MAIF_ERR_SESSION_IDLE: 'a long-lived reader was closed after its idle-session limit; open it again',
  MAIF_ERR_KEYRING_PASSPHRASE: 'a passphrase-protected keyring was given no passphrase, or one that does not open it',

  // semantic layer: embeddings, index, search
  MAIF_ERR_EMBEDDER_UNAVAILABLE: 'the configured embedder is not available in this build or environment',
  MAIF_ERR_EMBEDDER_RESPONSE: 'an embedding model answered with no embedding, one of the wrong length, or non-finite values',
  MAIF_ERR_EMBEDDER_MISMATCH: 'the model given to embed a query is not the model that made the embeddings (another file hash, tokenizer or dimensions)',
  MAIF_ERR_EMBEDDING: 'an embedding block is malformed, or does not match the records it embeds',
  MAIF_ERR_INDEX_STALE: 'a stored vector index does not match the container it claims to index',
  MAIF_ERR_SEARCH: 'a search cannot run: no embeddings, mixed models, or a query the model cannot embed',
  MAIF_ERR_QUANTIZE: 'vectors given to an embedding codec are malformed (wrong dims, non-finite values, out of range) or its codes do not match its codebook',
} as const

export type ErrorCode = keyof typeof ErrorCodes

export interface MaifErrorDetails {
  offset?: number
  seq?: number
  cause?: unknown
}

export class MaifError extends Error {
  readonly code: ErrorCode
  readonly offset: number | undefined
  readonly seq: number | undefined

  constructor(code: ErrorCode, message: string, details: MaifErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.name = 'MaifError'
    this.code = code
    this.offset = details.offset
    this.seq = details.seq
  }

  toJSON(): { code: ErrorCode; message: string; offset?: number; seq?: number } {
    const out: { code: ErrorCode; message: string; offset?: number; seq?: number } = {
      code: this.code,
      message: this.message,
    }
    if (this.offset !== undefined) out.offset = this.offset
    if (this.seq !== undefined) out.seq = this.seq
    return out
  }
}

export function isMaifError(err: unknown): err is MaifError {
  return err instanceof MaifError
}

/**
 * Wraps an error (fs, zlib, OpenSSL, or a MaifError from a lower layer) in a MaifError with this
 * layer's code and context; the original stays reachable as `cause`, its offset and seq are kept.
 */
/** A failure to get at the bytes (file I/O, an S3 request), as opposed to bytes that are wrong. */
export function isAccessError(code: ErrorCode): boolean {
  return code === 'MAIF_ERR_IO' || code.startsWith('MAIF_ERR_S3')
}

export function wrapError(code: ErrorCode, message: string, cause: unknown, details: Omit<MaifErrorDetails, 'cause'> = {}): MaifError {
  const why = cause instanceof Error ? `: ${cause.message}` : ''
  const inner = cause instanceof MaifError ? cause : undefined
  const offset = details.offset ?? inner?.offset
  const seq = details.seq ?? inner?.seq
  return new MaifError(code, message + why, { ...(offset === undefined ? {} : { offset }), ...(seq === undefined ? {} : { seq }), cause })
}
