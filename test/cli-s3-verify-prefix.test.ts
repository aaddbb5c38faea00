// maif verify s3://bucket/prefix/ verifies every .maif object under the prefix (through ListObjectsV2 paging),
// prints a line per object and a summary, and exits 1 naming the object whose byte was flipped.
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { S3Client, CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { startMoto } from './helpers/moto.js'
import { maif } from './helpers/cli.js'
import { flipBit, jsonRecords, makeKeys, removeDir, scratchDir, writeOpts } from './helpers/container.js'
import { writeContainer } from '../src/core/container/writer.js'

t.test('verify of an s3:// prefix', async (t) => {
  const moto = await startMoto(t)
  const s3 = new S3Client({ ...moto.clientConfig, forcePathStyle: true })
  t.teardown(() => s3.destroy())
  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const keys = await makeKeys(join(dir, 'k'))
  await s3.send(new CreateBucketCommand({ Bucket: 'audit' }))
  const names = ['2026/11/29/part-000001.maif', '2026/11/29/part-000002.maif', '2026/11/30/part-000001.maif']
  const bodies: Buffer[] = []
  for (const [i, n] of names.entries()) {
    const f = join(dir, `c${i}.maif`)
    await writeContainer(f, jsonRecords(30, i * 100), writeOpts(keys))
    bodies.push(await readFile(f))
    await s3.send(new PutObjectCommand({ Bucket: 'audit', Key: `logs/${n}`, Body: bodies[i] }))
  }
  await s3.send(new PutObjectCommand({ Bucket: 'audit', Key: 'logs/README.txt', Body: 'not a container' }))
  await s3.send(new PutObjectCommand({ Bucket: 'audit', Key: 'other/part-000009.maif', Body: 'outside the prefix' }))
  const env = moto.env

  const ok = await maif(['verify', 's3://audit/logs/', '--pub', join(keys.dir, 'maif.pub')], { env })
  t.equal(ok.code, 0, ok.stdout + ok.stderr)
  t.equal(ok.stderr, '')
  for (const n of names) t.match(ok.stdout, new RegExp(`^OK s3://audit/logs/${n}: \\d+ blocks, 30 records`, 'm'))
  t.match(ok.stdout, /^OK s3:\/\/audit\/logs\/: 3 objects verified, 3 ok, 0 failed$/m)
  t.notMatch(ok.stdout, /README|other\//, 'only .maif objects under the prefix are verified')

  // Flip one byte in the middle of the second object.
  const bad = flipBit(bodies[1]!, Math.floor(bodies[1]!.length / 2))
  await s3.send(new PutObjectCommand({ Bucket: 'audit', Key: `logs/${names[1]}`, Body: bad }))
  const fail = await maif(['verify', 's3://audit/logs/', '--pub', join(keys.dir, 'maif.pub'), '--concurrency', '2'], { env })
  t.equal(fail.code, 1)
  t.match(fail.stdout, new RegExp(`^FAILED s3://audit/logs/${names[1]}: .*MAIF_ERR_`, 'm'), 'the failing object is named with why')
  t.match(fail.stdout, new RegExp(`^OK s3://audit/logs/${names[0]}`, 'm'))
  t.match(fail.stdout, new RegExp(`^OK s3://audit/logs/${names[2]}`, 'm'))
  t.match(fail.stdout, /^FAILED s3:\/\/audit\/logs\/: 3 objects verified, 2 ok, 1 failed$/m)
  t.match(fail.stdout, new RegExp(`^failed: s3://audit/logs/${names[1]}$`, 'm'))

  const json = await maif(['verify', 's3://audit/logs/', '--json'], { env })
  t.equal(json.code, 1)
  const r = JSON.parse(json.stdout) as { ok: boolean; objects: number; failed: string[] }
  t.same({ ok: r.ok, objects: r.objects, failed: r.failed }, { ok: false, objects: 3, failed: [`s3://audit/logs/${names[1]}`] })

  const empty = await maif(['verify', 's3://audit/nothing/'], { env })
  t.equal(empty.code, 1, 'a prefix with no container is not a pass')
  t.match(empty.stdout, /0 objects verified/)
})
