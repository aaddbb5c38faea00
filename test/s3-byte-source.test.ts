// The S3 byte source against moto: any range reads back the object's bytes, small reads are served from a
// bounded chunk cache, large reads fetch exactly their range, and an object replaced while open is refused.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { S3Client, CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { startMoto } from './helpers/moto.js'
import { S3ByteSource } from '../src/core/format/s3-object.js'
import { readAt } from '../src/core/format/io.js'

t.test('ranged reads of an S3 object', async (t) => {
  const moto = await startMoto(t)
  const s3 = new S3Client({ ...moto.clientConfig, forcePathStyle: true })
  t.teardown(() => s3.destroy())
  await s3.send(new CreateBucketCommand({ Bucket: 'bytes' }))
  const body = randomBytes(3 << 20)
  await s3.send(new PutObjectCommand({ Bucket: 'bytes', Key: 'obj.bin', Body: body }))

  const src = await S3ByteSource.open('s3://bytes/obj.bin', { client: s3, chunkBytes: 16 << 10, cacheBytes: 64 << 10, directBytes: 128 << 10 })
  t.teardown(() => src.close())
  t.equal(src.size, body.length)
  t.same(src.stats(), { requests: 1, bytesFetched: 0 }, 'opening costs one HEAD and no body bytes')

  // Random ranges, small and large, including ones that cross chunk boundaries and the end of the object.
  let seed = 7
  const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n }
  for (let i = 0; i < 60; i++) {
    const len = i % 5 === 0 ? (128 << 10) + rnd(200 << 10) : 1 + rnd(40 << 10)
    const pos = rnd(body.length - len)
    const got = await readAt(src, pos, len)
    t.ok(got.equals(body.subarray(pos, pos + len)), `bytes ${pos}+${len}`)
  }
  const end = await readAt(src, body.length - 72, 72)
  t.ok(end.equals(body.subarray(body.length - 72)), 'the last bytes')
  await t.rejects(readAt(src, body.length - 10, 20), { code: 'MAIF_ERR_TRUNCATED' }, 'a read past the end is a truncation')

  // A repeated small read is served from the cache: no request, no bytes.
  await readAt(src, 1000, 100)
  const before = src.stats()
  await readAt(src, 1010, 50)
  t.same(src.stats(), before, 'a cached chunk costs nothing')
  // A large read fetches exactly its range, in one request.
  const b2 = src.stats()
  await readAt(src, 1 << 20, 200 << 10)
  t.same(src.stats(), { requests: b2.requests + 1, bytesFetched: b2.bytesFetched + (200 << 10) })

  // The object is replaced while open: the next GET is refused by its If-Match, not mixed with new bytes.
  await s3.send(new PutObjectCommand({ Bucket: 'bytes', Key: 'obj.bin', Body: randomBytes(3 << 20) }))
  await t.rejects(readAt(src, 2 << 20, 300 << 10), { code: 'MAIF_ERR_S3_CHANGED' })
})

t.test('opening an object that does not exist, or a prefix, fails with its code', async (t) => {
  const moto = await startMoto(t)
  const s3 = new S3Client({ ...moto.clientConfig, forcePathStyle: true })
  t.teardown(() => s3.destroy())
  await s3.send(new CreateBucketCommand({ Bucket: 'bytes' }))
  await t.rejects(S3ByteSource.open('s3://bytes/missing.maif', { client: s3 }), { code: 'MAIF_ERR_S3_NOT_FOUND' })
  await t.rejects(S3ByteSource.open('s3://bytes/dir/', { client: s3 }), { code: 'MAIF_ERR_S3_URL' })
  await t.rejects(S3ByteSource.open('s3://Bad_Bucket/k', { client: s3 }), { code: 'MAIF_ERR_S3_URL' })
})
