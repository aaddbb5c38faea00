import { readFile, stat } from 'node:fs/promises'
import { wrapError } from '../core/errors.js'
import { verifyContainer, type VerifyResult, type Witness } from '../core/container/verify.js'
import { WorkerPool } from '../core/workers/worker-pool.js'
import { isS3Url, parseS3Url } from '../core/aws/s3-url.js'
import { bytesOpt, intOpt, parse, usage } from './args.js'
import { keyringFrom, pinnedKeys } from './keys.js'
import { readKeyProvider } from '../core/format/kms/read-keys.js'
import { auditCli, auditKeys } from './audit-log.js'

/**
 * Containers from this size up are hashed on worker threads. Below it, one thread hashes about as fast as two
 * workers, which cost memory: SHA-256 runs at about 1.8 GB/s on one thread here, and each worker takes some tens
 * of milliseconds to boot and about 11 MiB to exist. Measured (1 MiB blocks): a 68 MB container 0.16-0.17 s both
 * ways; a 271 MB one 0.27-0.30 s with the pool against 0.31-0.35 s inline on Node 20, 237 against 265 ms on
 * Node 24, for 106 MiB of peak RSS against 84 (the bench's check that verify's memory stays flat from a 16 MiB
 * input to a 1 GiB one then fails). So the pool waits for containers where its time matters more than that.
 */
const PARALLEL_FROM = 512 << 20
/**
 * With a keyring every block is also decrypted and decompressed, about six times the work of hashing it: the
 * workers pay for their start from this size up.
 */
export const PARALLEL_OPEN_FROM = 16 << 20

/** The size of a local file, or 0 when it cannot be read (verifyContainer then reports why). */
async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size
  } catch {
    return 0
  }
}

/** A witness is the { treeSize, root } of an earlier verify --json: a non-negative integer and 32 base64 bytes. */
function parseWitness(w: unknown): Witness {
  if (typeof w !== 'object' || w === null || Array.isArray(w)) throw new Error('it is not a JSON object')
  const { treeSize, root } = w as { treeSize?: unknown; root?: unknown }
  if (typeof treeSize !== 'number' || !Number.isSafeInteger(treeSize) || treeSize < 0) throw new Error('its treeSize is not a non-negative integer')
  if (typeof root !== 'string') throw new Error('it has no root')
  const bytes = Buffer.from(root, 'base64')
  if (bytes.length !== 32 || bytes.toString('base64') !== root) throw new Error(`its root is not 32 bytes of base64 (got ${bytes.length} bytes)`)
  return { treeSize, root: bytes }
}

export default async function verify(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { pub: { type: 'string', multiple: true }, keyring: { type: 'string' }, witness: { type: 'string' }, json: { type: 'boolean' }, 'max-box': { type: 'string' }, embeddings: { type: 'boolean' }, concurrency: { type: 'string' } })
  if (positionals.length !== 1) usage('verify takes one FILE')
  const maxBoxBytes = bytesOpt(values['max-box'], 'max-box')
  const keyring = await keyringFrom(values.keyring)
  const pinned = await pinnedKeys(values.pub, keyring)
  let witness: Witness | undefined
  if (typeof values.witness === 'string') {
    try {
      witness = parseWitness(JSON.parse(await readFile(values.witness, 'utf8')))
    } catch (cause) {
      throw wrapError('MAIF_ERR_USAGE', `--witness ${values.witness} is not a verify --json output`, cause)
    }
  }
  const target = positionals[0]!
  if (isS3Url(target) && parseS3Url(target).isPrefix) {
    if (witness) usage('--witness names one container: it cannot be used with an s3:// prefix')
    const { verifyPrefix } = await import('./verify-prefix.js')
    return verifyPrefix(target, {
      pinned, ...(keyring ? { keyProvider: readKeyProvider(keyring) } : {}), ...(maxBoxBytes ? { maxBoxBytes } : {}),
    }, { concurrency: intOpt(values.concurrency, 'concurrency') ?? 4, json: values.json === true })
  }
  if (values.concurrency !== undefined) usage('--concurrency applies to an s3:// prefix')
  const pool = isS3Url(target) || (await sizeOf(target)) < (keyring ? PARALLEL_OPEN_FROM : PARALLEL_FROM) ? undefined : new WorkerPool(undefined, { lazy: true })
  let r: VerifyResult
  try {
    r = await verifyContainer(positionals[0]!, { pinned, ...(keyring ? { keyProvider: auditKeys(readKeyProvider(keyring), positionals[0]!) } : {}), ...(witness ? { witness } : {}), ...(pool ? { pool } : {}), ...(maxBoxBytes ? { maxBoxBytes } : {}) })
  } finally {
    await pool?.close()
  }
  auditCli({
    action: 'container.verify', outcome: r.ok ? 'success' : 'failure', category: ['file'], type: ['access'], file: { path: positionals[0]! },
    ...(r.errors[0] ? { error: { code: r.errors[0].code, message: r.errors[0].message }, reason: `${r.errors.length} verification error(s)` } : {}),
    maif: { container_id: r.containerId, tree_size: r.treeSize, root: r.root, signers: r.signers.map((s) => s.keyId), decrypted: r.decrypted, error_codes: r.errors.map((e) => e.code) },
  })
  // --embeddings: every embedding block still matches the records it embeds (a second, decrypting pass).
  let embeddings: { ok: boolean; embeddings?: number; error?: string } | undefined
  if (values.embeddings && r.ok) {
    const { checkEmbeddings } = await import('../core/semantic/search.js')
    try {
      embeddings = { ok: true, embeddings: (await checkEmbeddings(positionals[0]!, { pinned, keyProvider: readKeyProvider(keyring), ...(maxBoxBytes ? { maxBoxBytes } : {}) })).embeddings }
    } catch (err) {
      embeddings = { ok: false, error: err instanceof Error ? `${(err as { code?: string }).code ?? 'error'}: ${err.message}` : String(err) }
    }
  }
  if (values.json) process.stdout.write(JSON.stringify(embeddings ? { ...r, ok: r.ok && embeddings.ok, embeddings } : r) + '\n')
  else {
    const signer = r.signers.map((s) => `${s.keyId.slice(0, 16)}… (${s.alg}, ${s.pinned ? 'pinned' : 'UNPINNED'})`).join(', ') || 'none'
    process.stdout.write(
      `${r.ok ? 'OK' : 'FAILED'} ${positionals[0]}: ${r.blocks} blocks, ${r.records} records, ${r.sessions} sessions, ${r.checkpoints} checkpoints, tree size ${r.treeSize}\n` +
      `root ${r.root ?? '-'}\nsigner ${signer}${r.decrypted ? '\nevery block decrypted and authenticated' : ''}\n` +
      r.errors.map((e) => `error ${e.code} at offset ${e.offset ?? '-'} seq ${e.seq ?? '-'}: ${e.message}\n`).join('') +
      r.warnings.map((w) => `warning: ${w}\n`).join('') +
      (embeddings ? (embeddings.ok ? `every embedding matches its record (${embeddings.embeddings})\n` : `error embeddings: ${embeddings.error}\n`) : ''),
    )
  }
  return r.ok && (embeddings?.ok ?? true) ? 0 : 1
}
