// The AWS Lambda entry (`maif/lambda`): for each S3 ObjectCreated record of an event, run a named pipeline on
// the new object. MAIF_LAMBDA_PIPELINE names it:
//   - `verify`: verify the object as a container (pinned to MAIF_LAMBDA_PUB and/or the MAIF_KEYRING key; with
//     MAIF_KEYRING every block is also decrypted and authenticated);
//   - a pipeline file (YAML, JSON or TypeScript) shipped with the function, run once per object with
//     ${MAIF_OBJECT_URL}, ${MAIF_OBJECT_BUCKET}, ${MAIF_OBJECT_KEY} and ${MAIF_OBJECT_NAME} (the key's last part)
//     set, e.g. `source: { type: s3, url: "${MAIF_OBJECT_URL}", format: jsonl }` to pack raw uploads.
// The handler resolves with one result per record, and rejects (so Lambda retries, then sends the event to
// its failure destination) naming every object that failed.
import './builtins.js'
import { basename } from 'node:path'
import { MaifError, type ErrorCode } from './core/errors.js'
import { s3Url } from './core/aws/s3-url.js'
import { loadKeyring, loadPublicKey, resolveKeyringDir } from './core/format/keyring.js'
import { verifyContainer } from './core/container/verify.js'
import { loadPipelineFile } from './core/runtime/pipeline-def.js'
import { runPipeline } from './core/runtime/engine.js'

// The SDK's Node 20 support notice is not about this function; the SDK's own switch silences it (and only it).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

/** The parts of an S3 event notification record the handler reads (the full payload has more). */
export interface S3EventRecord {
  eventSource?: string
  eventName: string
  s3: { bucket: { name: string }; object: { key: string; size?: number; eTag?: string } }
}

export interface S3Event { Records: S3EventRecord[] }

export interface ObjectResult {
  object: string
  ok: boolean
  /** verify: blocks and records checked; pipeline: records delivered and dead-lettered. */
  detail: Record<string, unknown>
  error?: { code: ErrorCode; message: string }
}

export interface HandlerResult { processed: number; skipped: number; results: ObjectResult[] }

/** S3 event keys are URL-encoded with '+' for spaces. */
export function objectKey(r: S3EventRecord): string {
  return decodeURIComponent(r.s3.object.key.replace(/\+/g, ' '))
}

export async function handler(event: S3Event, env: NodeJS.ProcessEnv = process.env): Promise<HandlerResult> {
  const name = env.MAIF_LAMBDA_PIPELINE
  if (!name) throw new MaifError('MAIF_ERR_USAGE', 'set MAIF_LAMBDA_PIPELINE to "verify" or to the path of a pipeline file in the deployment package')
  const records = Array.isArray(event?.Records) ? event.Records : []
  const created = records.filter((r) => typeof r?.eventName === 'string' && r.eventName.startsWith('ObjectCreated:') && r.s3?.bucket?.name && r.s3?.object?.key)
  const results: ObjectResult[] = []
  for (const r of created) {
    const bucket = r.s3.bucket.name
    const key = objectKey(r)
    const url = s3Url(bucket, key)
    try {
      results.push(name === 'verify' ? await verifyObject(url, env) : await runOn(name, url, bucket, key, env))
    } catch (err) {
      const e = err instanceof MaifError ? err : new MaifError('MAIF_ERR_IO', String((err as Error)?.message ?? err))
      results.push({ object: url, ok: false, detail: {}, error: { code: e.code, message: e.message } })
    }
  }
  const failed = results.filter((x) => !x.ok)
  for (const x of results) console.log(JSON.stringify({ maif: name, ...x })) // one CloudWatch line per object
  if (failed.length > 0) {
    throw new MaifError(failed[0]!.error?.code ?? 'MAIF_ERR_IO', `${failed.length} of ${results.length} object(s) failed: ` +
      failed.map((f) => `${f.object} (${f.error?.code ?? 'failed'}: ${f.error?.message ?? ''})`).join('; '))
  }
  return { processed: results.length, skipped: records.length - created.length, results }
}

async function verifyObject(url: string, env: NodeJS.ProcessEnv): Promise<ObjectResult> {
  const dir = resolveKeyringDir({ env })
  const keyring = dir ? await loadKeyring(dir) : undefined
  const pinned = [...(env.MAIF_LAMBDA_PUB ? [await loadPublicKey(env.MAIF_LAMBDA_PUB)] : []), ...(keyring ? [keyring.signer.publicKey] : [])]
  if (pinned.length === 0) throw new MaifError('MAIF_ERR_USAGE', 'verify needs a key to pin: MAIF_LAMBDA_PUB (a maif.pub file) or MAIF_KEYRING')
  const r = await verifyContainer(url, { pinned, ...(keyring ? { keyProvider: keyring } : {}) })
  const first = r.errors[0]
  return {
    object: url, ok: r.ok, detail: { blocks: r.blocks, records: r.records, treeSize: r.treeSize, root: r.root },
    ...(first ? { error: { code: first.code, message: `${first.message}${first.offset === undefined ? '' : ` (offset ${first.offset})`}` } } : {}),
  }
}

async function runOn(file: string, url: string, bucket: string, key: string, env: NodeJS.ProcessEnv): Promise<ObjectResult> {
  const vars = { ...env, MAIF_OBJECT_URL: url, MAIF_OBJECT_BUCKET: bucket, MAIF_OBJECT_KEY: key, MAIF_OBJECT_NAME: basename(key).replace(/\.[^.]*$/, '') }
  const loaded = await loadPipelineFile(file, { env: vars })
  const r = await runPipeline(loaded.definition, loaded.components ? { components: loaded.components } : {})
  return {
    object: url, ok: r.status === 'completed' && r.reconciled,
    detail: { pipeline: r.pipeline, status: r.status, delivered: r.delivered, deadLetters: r.deadLetters, recordsIn: r.recordsIn },
    ...(r.reconciled ? {} : { error: { code: 'MAIF_ERR_IO', message: 'the run did not reconcile its counts' } }),
  }
}
