// maif pack with an s3:// INPUT, against moto: a prefix (every object, in key order) or one object.
import t from 'tap'
import { join } from 'node:path'
import { writeFile } from 'node:fs/promises'
import { S3Client, CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { generateKeyring } from '../src/core/format/keyring.js'
import { maif } from './helpers/cli.js'
import { startMoto } from './helpers/moto.js'

const recs = (tag: string, n: number): string => Array.from({ length: n }, (_, i) => JSON.stringify({ tag, i }) + '\n').join('')

t.test('pack from an s3:// prefix or object', async (t) => {
  const moto = await startMoto(t)
  const s3 = new S3Client({ ...moto.clientConfig, forcePathStyle: true })
  t.teardown(() => s3.destroy())
  await s3.send(new CreateBucketCommand({ Bucket: 'packs' }))
  const dir = t.testdir()
  const keys = join(dir, 'keys')
  await generateKeyring(keys)
  const env = moto.env
  const kr = ['--keyring', keys]
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

  await writeFile(join(dir, 'a.jsonl'), recs('a', 5))
  const bad = await maif(['pack', 's3://packs/raw/', join(dir, 'a.jsonl'), '-o', 's3://packs/c/x.maif', ...kr], { env })
  t.equal(bad.code, 2)
  t.match(bad.stderr, /must be the only INPUT/)
})
