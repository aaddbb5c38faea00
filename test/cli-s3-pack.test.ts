// maif pack -o s3://…, against moto: one complete container is uploaded; an existing key is refused unless --force.
import t from 'tap'
import { join } from 'node:path'
import { writeFile } from 'node:fs/promises'
import { S3Client, CreateBucketCommand, HeadObjectCommand } from '@aws-sdk/client-s3'
import { generateKeyring } from '../src/core/format/keyring.js'
import { maif } from './helpers/cli.js'
import { startMoto } from './helpers/moto.js'

const recs = (tag: string, n: number): string => Array.from({ length: n }, (_, i) => JSON.stringify({ tag, i }) + '\n').join('')

t.test('pack to S3', async (t) => {
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
})
