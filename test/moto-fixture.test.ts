import t from 'tap'
import { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3'
import { startMoto } from './helpers/moto.js'

t.test('the moto fixture serves S3 over a real connection and resets its state', async (t) => {
  const moto = await startMoto(t)
  const s3 = new S3Client({ ...moto.clientConfig, forcePathStyle: true })
  t.teardown(() => s3.destroy())
  await s3.send(new CreateBucketCommand({ Bucket: 'maif-test' }))
  await s3.send(new PutObjectCommand({ Bucket: 'maif-test', Key: 'k', Body: 'hello' }))
  const got = await s3.send(new GetObjectCommand({ Bucket: 'maif-test', Key: 'k', Range: 'bytes=1-3' }))
  t.equal(await got.Body?.transformToString(), 'ell')
  await moto.reset()
  await t.rejects(s3.send(new GetObjectCommand({ Bucket: 'maif-test', Key: 'k' })), { name: 'NoSuchBucket' })
})
