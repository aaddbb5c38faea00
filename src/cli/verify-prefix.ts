// maif verify s3://bucket/prefix/ : every .maif object under the prefix, verified in parallel (p-limit), one
// line per object as it finishes, then a summary that names the failures. Exit 1 if any object fails.
import pLimit from 'p-limit'
import { MaifError } from '../core/errors.js'
import { verifyContainer, type VerifyOptions, type VerifyResult } from '../core/container/verify.js'
import { listObjects, parseS3Url, s3Client, s3Url } from '../core/aws/s3.js'
import { writeOut } from './args.js'

export interface PrefixOptions { concurrency: number; json: boolean }

interface Outcome { url: string; ok: boolean; result?: VerifyResult; error?: { code: string; message: string } }

export async function verifyPrefix(url: string, opts: VerifyOptions, how: PrefixOptions): Promise<number> {
  const { bucket, key: prefix } = parseS3Url(url)
  const client = s3Client()
  const limit = pLimit(how.concurrency)
  const outcomes: Outcome[] = []
  const out = process.stdout
  try {
    const jobs = new Set<Promise<void>>()
    for await (const o of listObjects(client, bucket, prefix)) {
      if (!o.key.endsWith('.maif')) continue
      const u = s3Url(bucket, o.key)
      const job = limit(async () => {
        let outcome: Outcome
        try {
          const r = await verifyContainer(u, { ...opts, s3: { client } })
          outcome = { url: u, ok: r.ok, result: r }
        } catch (err) {
          // An object that cannot be read fails like one that does not verify, and the others go on.
          const e = err instanceof MaifError ? err : new MaifError('MAIF_ERR_S3', String(err))
          outcome = { url: u, ok: false, error: { code: e.code, message: e.message } }
        }
        outcomes.push(outcome)
        if (!how.json) await writeOut(out, line(outcome))
      })
      jobs.add(job)
      void job.finally(() => jobs.delete(job))
      // Listing runs ahead of verification by a bounded number of waiting jobs.
      while (jobs.size > how.concurrency * 16) await Promise.race(jobs)
    }
    await Promise.all(jobs)
  } finally {
    client.destroy()
  }
  const failed = outcomes.filter((o) => !o.ok)
  if (how.json) {
    outcomes.sort((a, b) => (a.url < b.url ? -1 : 1))
    await writeOut(out, JSON.stringify({ ok: failed.length === 0 && outcomes.length > 0, prefix: url, objects: outcomes.length, failed: failed.map((f) => f.url), results: outcomes }) + '\n')
  } else {
    await writeOut(out, `${failed.length === 0 && outcomes.length > 0 ? 'OK' : 'FAILED'} ${url}: ${outcomes.length} objects verified, ${outcomes.length - failed.length} ok, ${failed.length} failed` +
      (outcomes.length === 0 ? ' (no .maif object under this prefix)' : '') + '\n' + failed.map((f) => `failed: ${f.url}\n`).join(''))
  }
  return failed.length === 0 && outcomes.length > 0 ? 0 : 1
}

function line(o: Outcome): string {
  if (o.error) return `FAILED ${o.url}: ${o.error.code}: ${o.error.message}\n`
  const r = o.result!
  const first = r.errors[0]
  return `${r.ok ? 'OK' : 'FAILED'} ${o.url}: ${r.blocks} blocks, ${r.records} records, tree size ${r.treeSize}` +
    (first ? ` — ${first.code} at offset ${first.offset ?? '-'}: ${first.message}` : '') + '\n'
}
