// maif inspect | verify | cat on s3:// objects, against moto: the same answers as on the local file, and
// cat --seq reads a small fraction of a multi-MB object (its --json reports requests and bytes fetched).
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { S3Client, CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { startMoto } from './helpers/moto.js'
import { maif } from './helpers/cli.js'
import { makeKeys, removeDir, scratchDir, writeOpts } from './helpers/container.js'
import { writeContainer } from '../src/core/container/writer.js'

t.test('inspect, verify and cat read an S3 object with ranged GETs', async (t) => {
  const moto = await startMoto(t)
  const s3 = new S3Client({ ...moto.clientConfig, forcePathStyle: true })
  t.teardown(() => s3.destroy())
  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const keys = await makeKeys(join(dir, 'k'))
  // ~4.5 MB of hardly compressible records in ~120 blocks.
  const file = join(dir, 'big.maif')
  const records = Array.from({ length: 4000 }, (_, i) => ({ i, blob: randomBytes(1100).toString('base64') }))
  await writeContainer(file, records, writeOpts(keys, { framer: { blockRecords: 32 } }))
  const bytes = await readFile(file)
  t.ok(bytes.length > 4 << 20, `the container is ${bytes.length} bytes`)
  await s3.send(new CreateBucketCommand({ Bucket: 'remote' }))
  await s3.send(new PutObjectCommand({ Bucket: 'remote', Key: 'logs/big.maif', Body: bytes }))
  const url = 's3://remote/logs/big.maif'
  const env = moto.env
  const kr = ['--keyring', keys.dir]

  const li = await maif(['inspect', file, '--json'])
  const ri = await maif(['inspect', url, '--json'], { env })
  t.equal(ri.code, 0, ri.stderr)
  t.equal(ri.stderr, '', 'no SDK warning or other noise on stderr')
  t.same(JSON.parse(ri.stdout), JSON.parse(li.stdout), 'inspect describes the object as it describes the file')

  const rv = await maif(['verify', url, ...kr, '--json'], { env })
  t.equal(rv.code, 0, rv.stderr)
  const lv = await maif(['verify', file, ...kr, '--json'])
  t.same(JSON.parse(rv.stdout), JSON.parse(lv.stdout), 'verify gives the same result')

  const rc = await maif(['cat', url, ...kr, '--jsonl'], { env })
  t.equal(rc.code, 0, rc.stderr)
  t.equal(rc.stdout, records.map((r) => JSON.stringify(r) + '\n').join(''), 'cat returns every record, byte-identical')

  const info = JSON.parse(li.stdout) as { blocks: Array<{ seq: number }> }
  const mid = info.blocks[Math.floor(info.blocks.length / 2)]!.seq
  const one = await maif(['cat', url, ...kr, '--seq', String(mid), '--json'], { env })
  t.equal(one.code, 0, one.stderr)
  const got = JSON.parse(one.stdout) as { seq: number; type: string; encoding: string; data: string; io: { requests: number; bytesFetched: number; size: number } }
  const local = await maif(['cat', file, ...kr, '--seq', String(mid)])
  t.equal(got.seq, mid)
  t.equal(got.encoding, 'utf8')
  t.equal(got.data, local.stdout, 'the block read remotely is the block read locally')
  t.equal(got.io.size, bytes.length)
  t.ok(got.io.bytesFetched < bytes.length / 20, `cat --seq fetched ${got.io.bytesFetched} of ${bytes.length} bytes (< 5%)`)
  t.ok(got.io.requests <= 8, `in ${got.io.requests} requests (HEAD + ranged GETs)`)

  const missing = await maif(['cat', 's3://remote/logs/none.maif', ...kr, '--seq', '1'], { env })
  t.equal(missing.code, 2)
  t.match(missing.stderr, /MAIF_ERR_S3_NOT_FOUND/)
})
