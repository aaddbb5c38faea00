// The s3 source on its own, against moto: objects under a prefix in key order across ListObjectsV2 pages;
// tokens map records to object and line; a cursor commit of a partly durable batch makes a rebuilt source
// resume right after the last durable record of the object in progress, and skip finished objects.
import '../../src/builtins.js'
import t from 'tap'
import { S3Client, CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { s3Source } from '../../src/sources/s3/index.js'
import { RunMetrics } from '../../src/core/runtime/observability.js'
import type { Batch, BuildContext, DeadLetterInput, SourceInstance } from '../../src/core/runtime/types.js'
import { startMoto } from '../helpers/moto.js'

function context(dir: string, dead: DeadLetterInput[]): BuildContext {
  return {
    type: 's3', label: 'source', cwd: dir, logger: undefined, metrics: new RunMetrics('t'), keyringFlag: undefined, defaultKeyring: undefined,
    pool: () => { throw new Error('no pool in this test (text input)') }, deadLetter: (d) => dead.push(d), stop: new AbortController().signal,
    retry: { maxAttempts: 1, initialMs: 0, maxMs: 0, multiplier: 1 }, batching: {}, outputs: [],
  }
}

async function all(src: SourceInstance): Promise<Batch[]> {
  const out: Batch[] = []
  for await (const b of src.batches()) out.push(b)
  return out
}

const text = (bs: Batch[]): string => Buffer.concat(bs.map((b) => (b.kind === 'lines' ? b.data : Buffer.alloc(0)))).toString()

t.test('the s3 source', async (t) => {
  const moto = await startMoto(t)
  Object.assign(process.env, moto.env)
  const s3 = new S3Client({ ...moto.clientConfig, forcePathStyle: true })
  t.teardown(() => s3.destroy())
  await s3.send(new CreateBucketCommand({ Bucket: 'src' }))
  const dir = t.testdir()
  // A big object (many body chunks, so several batches) between small ones; 5 objects over pages of 2 keys.
  const big = Array.from({ length: 20000 }, (_, i) => `big ${i} ${'y'.repeat(i % 40)}`).join('\n') + '\n'
  const objects: Record<string, string> = { 'in/a.txt': 'a0\na1\n', 'in/b.txt': big, 'in/c.txt': 'c0\n', 'in/d.txt': 'd0\nd1\nd2\n', 'in/e.txt': 'e0' }
  for (const [k, v] of Object.entries(objects)) await s3.send(new PutObjectCommand({ Bucket: 'src', Key: k, Body: v }))
  await s3.send(new PutObjectCommand({ Bucket: 'src', Key: 'other/z.txt', Body: 'not under the prefix\n' }))

  const dead: DeadLetterInput[] = []
  const src = await s3Source.build({ url: 's3://src/in/', format: 'text', listPageSize: 2, cursor: 'c.cursor' }, context(dir, dead)) as SourceInstance
  const batches = await all(src)
  t.equal(text(batches), 'a0\na1\n' + big + 'c0\nd0\nd1\nd2\ne0\n', 'every object under the prefix, in key order, across pages')
  t.equal(src.stats().files, 5)
  const bigBatches = batches.filter((b) => (b.ack as { key: string }).key === 'in/b.txt' && b.count > 0)
  t.ok(bigBatches.length >= 2, `the big object came in ${bigBatches.length} batches`)
  t.same(src.locate?.(bigBatches[1]!.ack, 0), { object: 's3://src/in/b.txt', line: (bigBatches[0]!.count) + 1 }, 'locate gives object and line')

  // Every output made durable: objects a (whole), and the first batch of b plus 3 records of its second.
  const aTokens = batches.filter((b) => (b.ack as { key: string }).key === 'in/a.txt').map((b) => b.ack)
  await src.commit!({ done: [...aTokens, bigBatches[0]!.ack], partial: { token: bigBatches[1]!.ack, records: 3 } })
  await src.close?.()

  const again = await s3Source.build({ url: 's3://src/in/', format: 'text', listPageSize: 2, cursor: 'c.cursor' }, context(dir, dead)) as SourceInstance
  const rest = text(await all(again))
  const resumeAt = bigBatches[0]!.count + 3
  t.equal(rest, big.split('\n').slice(resumeAt).join('\n') + 'c0\nd0\nd1\nd2\ne0\n', 'a is skipped; b resumes right after its last durable record')
  t.equal(again.stats().files, 4)
  await again.close?.()
  t.equal(dead.length, 0)
})
