// The Lambda handler (maif/lambda) invoked with a real S3 ObjectCreated event payload, against moto:
// `verify` mode passes a good container and fails naming a tampered one; pipeline mode packs a raw upload
// (its key URL-encoded in the event, as S3 sends it) into a container that verifies and holds its records.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { S3Client, CreateBucketCommand, PutObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import { handler, type S3Event } from '../src/lambda.js'
import { generateKeyring, loadKeyring } from '../src/core/format/keyring.js'
import { writeContainer } from '../src/core/container/writer.js'
import { flipBit, jsonRecords, writeOpts } from './helpers/container.js'
import { readContainer } from './helpers/engine.js'
import { startMoto } from './helpers/moto.js'

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/lambda/${name}`, import.meta.url))

/** The S3 sample event with this bucket and (URL-encoded, as S3 sends it) key. */
function eventFor(bucket: string, key: string, eventName = 'ObjectCreated:Put'): S3Event {
  const e = JSON.parse(readFileSync(fixture('s3-put-event.json'), 'utf8')) as S3Event & { Records: Array<{ s3: { bucket: { arn: string } } }> }
  const r = e.Records[0]!
  r.eventName = eventName
  r.s3.bucket.name = bucket
  r.s3.bucket.arn = `arn:aws:s3:::${bucket}`
  r.s3.object.key = encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+')
  return e
}

t.test('the Lambda handler on S3 ObjectCreated events', async (t) => {
  const moto = await startMoto(t)
  Object.assign(process.env, moto.env)
  const s3 = new S3Client({ ...moto.clientConfig, forcePathStyle: true })
  t.teardown(() => s3.destroy())
  await s3.send(new CreateBucketCommand({ Bucket: 'uploads' }))
  const dir = t.testdir()
  const keys = join(dir, 'keys')
  await generateKeyring(keys)
  const kr = await loadKeyring(keys)
  const env = { ...process.env, MAIF_KEYRING: keys, MAIF_DEAD_DIR: dir }

  t.test('verify mode', async (t) => {
    const file = join(dir, 'c.maif')
    await writeContainer(file, jsonRecords(40), writeOpts({ dir: keys, keyring: kr, pub: kr.signer.publicKey }))
    const bytes = await readFile(file)
    await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: 'audit/2026/c 1.maif', Body: bytes }))
    const ok = await handler(eventFor('uploads', 'audit/2026/c 1.maif'), { ...env, MAIF_LAMBDA_PIPELINE: 'verify' })
    t.same(ok.results.map((r) => [r.object, r.ok, r.detail.records]), [['s3://uploads/audit/2026/c 1.maif', true, 40]])

    await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: 'audit/2026/bad.maif', Body: flipBit(bytes, Math.floor(bytes.length / 2)) }))
    await t.rejects(handler(eventFor('uploads', 'audit/2026/bad.maif'), { ...env, MAIF_LAMBDA_PIPELINE: 'verify' }), { message: /1 of 1 object\(s\) failed: s3:\/\/uploads\/audit\/2026\/bad.maif \(MAIF_ERR_/ })

    const removed = await handler(eventFor('uploads', 'audit/2026/bad.maif', 'ObjectRemoved:Delete'), { ...env, MAIF_LAMBDA_PIPELINE: 'verify' })
    t.same({ processed: removed.processed, skipped: removed.skipped }, { processed: 0, skipped: 1 }, 'other events are skipped')
  })

  t.test('pipeline mode packs a raw upload', async (t) => {
    const raw = jsonRecords(120).map((r) => JSON.stringify(r) + '\n').join('') + '{"broken": \n'
    await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: 'raw/agent logs.jsonl', Body: raw }))
    const r = await handler(eventFor('uploads', 'raw/agent logs.jsonl'), { ...env, MAIF_LAMBDA_PIPELINE: fixture('pack-upload.yaml') })
    t.equal(r.results[0]!.ok, true, JSON.stringify(r.results))
    t.match(r.results[0]!.detail, { delivered: 120, deadLetters: 1 })
    const out = ((await s3.send(new ListObjectsV2Command({ Bucket: 'uploads', Prefix: 'packed/agent logs/' }))).Contents ?? []).map((c) => c.Key!)
    t.equal(out.length, 1, `one container: ${out.join(', ')}`)
    const back = await readContainer(`s3://uploads/${out[0]!}`, kr)
    t.equal(back.result.ok, true)
    t.equal(back.text, jsonRecords(120).map((x) => JSON.stringify(x) + '\n').join(''), 'the records, byte-identical')
    const dead = JSON.parse((await readFile(join(dir, 'agent logs.dead.jsonl'), 'utf8')).trim()) as { source: { object: string; line: number } }
    t.same(dead.source, { object: 's3://uploads/raw/agent logs.jsonl', line: 121 })
  })
})
