// maif pack with S3 on either side, against moto: -o s3://… uploads one complete container; an existing key
// is refused unless --force; an INPUT may be an s3:// object or prefix.
import t from 'tap'
import { join } from 'node:path'
import { writeFile } from 'node:fs/promises'
import { S3Client, CreateBucketCommand, PutObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3'
import { generateKeyring } from '../src/core/format/keyring.js'
import { maif } from './helpers/cli.js'
import { startMoto } from './helpers/moto.js'

const recs = (tag: string, n: number): string => Array.from({ length: n }, (_, i) => JSON.stringify({ tag, i }) + '\n').join('')

t.test('pack to and from S3', async (t) => {
  const moto = await startMoto(t)
  const s3 = new S3Client({ ...moto.clientConfig, forcePathStyle: true })
  t.teardown(() => s3.destroy())
  await s3.send(new CreateBucketCommand({ Bucket: 'packs' }))
  const dir = t.testdir()
  const keys = join(dir, 'keys')
  await generateKeyring(keys)
  const env = moto.env
  const kr = ['--keyring', keys]
  await writeFile(join(dir, 'a.jsonl'), recs('a', 50))
  await writeFile(join(dir, 'b.jsonl'), recs('b', 30))

  const up = await maif(['pack', join(dir, 'a.jsonl'), join(dir, 'b.jsonl'), '-o', 's3://packs/c/one.maif', ...kr], { env })
  t.equal(up.code, 0, up.stderr)
  t.equal(up.stderr, '')
  t.match(up.stdout, /packed 80 record\(s\) from 2 input\(s\) into s3:\/\/packs\/c\/one.maif/)
  const v = await maif(['verify', 's3://packs/c/one.maif', ...kr], { env })
  t.equal(v.code, 0, v.stdout)
  const c = await maif(['cat', 's3://packs/c/one.maif', ...kr, '--jsonl'], { env })
  t.equal(c.stdout, recs('a', 50) + recs('b', 30), 'the object holds the records, byte-identical')

  const etag = (await s3.send(new HeadObjectCommand({ Bucket: 'packs', Key: 'c/one.maif' }))).ETag
  const again = await maif(['pack', join(dir, 'b.jsonl'), '-o', 's3://packs/c/one.maif', ...kr], { env })
  t.equal(again.code, 2)
  t.match(again.stderr, /MAIF_ERR_S3_EXISTS: s3:\/\/packs\/c\/one.maif already exists.*--force/)
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: 'packs', Key: 'c/one.maif' }))).ETag, etag, 'the object was not touched')
  const forced = await maif(['pack', join(dir, 'b.jsonl'), '-o', 's3://packs/c/one.maif', ...kr, '--force'], { env })
  t.equal(forced.code, 0, forced.stderr)
  const c2 = await maif(['cat', 's3://packs/c/one.maif', ...kr, '--jsonl'], { env })
  t.equal(c2.stdout, recs('b', 30), '--force replaced it')

  // INPUT: a prefix (objects in key order) and one object.
  await s3.send(new PutObjectCommand({ Bucket: 'packs', Key: 'raw/1.jsonl', Body: recs('r1', 20) }))
  await s3.send(new PutObjectCommand({ Bucket: 'packs', Key: 'raw/2.jsonl', Body: recs('r2', 25) }))
  await s3.send(new PutObjectCommand({ Bucket: 'packs', Key: 'raw/2.jsonl.extra', Body: recs('x', 5) }))
  const fromPrefix = await maif(['pack', 's3://packs/raw/', '-o', 's3://packs/c/raw.maif', ...kr], { env })
  t.equal(fromPrefix.code, 0, fromPrefix.stderr)
  const c3 = await maif(['cat', 's3://packs/c/raw.maif', ...kr, '--jsonl'], { env })
  t.equal(c3.stdout, recs('r1', 20) + recs('r2', 25) + recs('x', 5), 'every object under the prefix, in key order')
  const fromObject = await maif(['pack', 's3://packs/raw/2.jsonl', '-o', join(dir, 'local.maif'), ...kr], { env })
  t.equal(fromObject.code, 0, fromObject.stderr)
  const c4 = await maif(['cat', join(dir, 'local.maif'), ...kr, '--jsonl'])
  t.equal(c4.stdout, recs('r2', 25), 'an object URL reads that object only')

  const bad = await maif(['pack', 's3://packs/raw/', join(dir, 'a.jsonl'), '-o', 's3://packs/c/x.maif', ...kr], { env })
  t.equal(bad.code, 2)
  t.match(bad.stderr, /must be the only INPUT/)
})
