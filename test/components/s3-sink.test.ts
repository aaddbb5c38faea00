// The s3 sink on its own, against moto: parts roll by records and by time into prefix/YYYY/MM/DD/part-NNNNNN.maif,
// each a complete container that verifies where it lies; records are acknowledged only after their object's
// upload completed; numbering continues after existing parts; a failed upload fails visibly and acknowledges nothing.
import '../../src/builtins.js'
import t from 'tap'
import { S3Client, CreateBucketCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import { s3Sink } from '../../src/sinks/s3/index.js'
import { entrySchema } from '../../src/core/runtime/component.js'
import { lintPipelineSource } from '../../src/core/runtime/pipeline-def.js'
import { frame } from '../../src/transforms/frame.js'
import { compress } from '../../src/transforms/compress.js'
import { encrypt } from '../../src/transforms/encrypt.js'
import { RunMetrics } from '../../src/core/runtime/observability.js'
import { WorkerPool } from '../../src/core/workers/worker-pool.js'
import type { BlockStageEntry, BuildContext, SinkBuildContext, SinkInstance } from '../../src/core/runtime/types.js'
import { freshKeyring, readContainer } from '../helpers/engine.js'
import { startMoto } from '../helpers/moto.js'

const lines = (from: number, n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => JSON.stringify({ i: from + i, msg: `record ${from + i}` }) + '\n').join(''))

t.test('the s3 sink', async (t) => {
  const moto = await startMoto(t)
  Object.assign(process.env, moto.env) // the sink's client and the reader find moto through the SDK's own variables
  const s3 = new S3Client({ ...moto.clientConfig, forcePathStyle: true })
  t.teardown(() => s3.destroy())
  await s3.send(new CreateBucketCommand({ Bucket: 'sink' }))
  const dir = t.testdir()
  const keys = await freshKeyring(dir)
  const pool = new WorkerPool(1)
  t.teardown(() => pool.close())
  const base = {
    cwd: dir, logger: undefined, metrics: new RunMetrics('t'), keyringFlag: undefined, defaultKeyring: keys.dir, pool: () => pool,
    deadLetter: () => undefined, stop: new AbortController().signal, retry: { maxAttempts: 1, initialMs: 0, maxMs: 0, multiplier: 1 }, batching: {}, outputs: [],
  }
  const stage = async (spec: typeof frame, options: Record<string, unknown>, index: number): Promise<BlockStageEntry> =>
    ({ type: spec.type, label: spec.type, index, stage: await spec.build(options, { ...base, type: spec.type, label: spec.type } as BuildContext) })
  const blockStages = [await stage(frame, { blockRecords: 4, blockMs: 0 }, 0), await stage(compress, {}, 1), await stage(encrypt, {}, 2)]
  const listKeys = async (prefix: string): Promise<string[]> =>
    ((await s3.send(new ListObjectsV2Command({ Bucket: 'sink', Prefix: prefix }))).Contents ?? []).map((o) => o.Key!).sort()

  const build = async (options: Record<string, unknown>, events: string[], checks: Array<Promise<unknown>>): Promise<SinkInstance> => {
    const ctx: SinkBuildContext = {
      ...base, type: 's3', label: 'out', blockStages, security: { requireEncryption: true }, pipeline: 't',
      acks: {
        committing: async (n, ref) => { events.push(`committing ${n} ${ref?.key}`) },
        committed: (n) => {
          events.push(`committed ${n}`)
          // At the moment of acknowledgement the object must already exist, complete.
          const ahead = [...events].reverse().find((e) => e.startsWith(`committing ${n} `))!
          const key = /s3:\/\/sink\/(\S+)/.exec(ahead)![1]!
          checks.push(s3.send(new HeadObjectCommand({ Bucket: 'sink', Key: key })))
        },
      },
    }
    return await s3Sink.build(options, ctx) as SinkInstance
  }

  t.test('rolls by records; acknowledges after each upload; parts verify', async (t) => {
    const events: string[] = []
    const checks: Array<Promise<unknown>> = []
    const sink = await build({ url: 's3://sink/a/', roll: { records: 10 } }, events, checks)
    for (let b = 0; b < 5; b++) await sink.write({ kind: 'lines', format: 'json', data: lines(b * 6, 6), count: 6, ack: b })
    t.notOk(events.includes('committed 30'), 'nothing past the last full part is acknowledged before close')
    await sink.close()
    await Promise.all(checks)
    const day = new Date()
    const d = `${day.getUTCFullYear()}/${String(day.getUTCMonth() + 1).padStart(2, '0')}/${String(day.getUTCDate()).padStart(2, '0')}`
    const keys3 = await listKeys('a/')
    t.same(keys3, [`a/${d}/part-000001.maif`, `a/${d}/part-000002.maif`, `a/${d}/part-000003.maif`], 'a batch is not split: parts of 12, 12 and 6 records')
    t.same(events.filter((e) => e.startsWith('committed')), ['committed 12', 'committed 24', 'committed 30'])
    for (const [i, e] of events.entries()) {
      if (e.startsWith('committed ')) t.match(events[i - 1], new RegExp(`^committing ${e.slice(10)} s3://sink/a/`), 'each acknowledgement follows its write-ahead')
    }
    let all: string[] = []
    for (const k of keys3) {
      const back = await readContainer(`s3://sink/${k}`, keys.keyring)
      t.equal(back.result.ok, true, `${k} verifies: ${JSON.stringify(back.result.errors)}`)
      all = all.concat(back.lines)
    }
    t.equal(all.join('\n') + '\n', lines(0, 30).toString(), 'the parts hold every record, in order, byte-identical')

    // A second run to the same prefix continues the numbering instead of overwriting.
    const sink2 = await build({ url: 's3://sink/a/', roll: { records: 100 } }, [], [])
    await sink2.write({ kind: 'lines', format: 'json', data: lines(100, 3), count: 3, ack: 0 })
    await sink2.close()
    t.same((await listKeys('a/')).at(-1), `a/${d}/part-000004.maif`)
  })

  t.test('rolls by time with no further writes', async (t) => {
    const events: string[] = []
    const checks: Array<Promise<unknown>> = []
    const sink = await build({ url: 's3://sink/timed/', roll: { seconds: 0.3 } }, events, checks)
    await sink.write({ kind: 'lines', format: 'json', data: lines(0, 3), count: 3, ack: 0 })
    for (let i = 0; i < 100 && !events.includes('committed 3'); i++) await new Promise((r) => setTimeout(r, 100))
    t.ok(events.includes('committed 3'), 'the part was closed and uploaded by its timer')
    await Promise.all(checks)
    t.equal((await listKeys('timed/')).length, 1)
    await sink.close()
    t.equal((await listKeys('timed/')).length, 1, 'closing with nothing new uploads nothing')
  })

  t.test('a failed upload fails visibly and acknowledges nothing', async (t) => {
    const events: string[] = []
    const sink = await build({ url: 's3://no-such-bucket/x/', roll: { records: 5 } }, events, [])
    await t.rejects((async () => {
      await sink.write({ kind: 'lines', format: 'json', data: lines(0, 6), count: 6, ack: 0 })
      await sink.write({ kind: 'lines', format: 'json', data: lines(6, 6), count: 6, ack: 1 })
      await sink.close()
    })(), { code: /^MAIF_ERR_S3/ })
    await sink.destroy?.(new Error('test over'))
    t.same(events.filter((e) => e.startsWith('committed')), [], 'no record was acknowledged')
  })

  t.test('its options are a strict schema', async (t) => {
    const schema = entrySchema(s3Sink)
    t.ok(schema.safeParse({ type: 's3', url: 's3://sink/a/', roll: { bytes: 1 << 20, records: 5, seconds: 1 }, upload: { partSize: 5 << 20, queueSize: 2 }, aws: { region: 'eu-west-1' } }).success)
    t.notOk(schema.safeParse({ type: 's3', url: 's3://sink/a/', upload: { partSize: 1024 } }).success, 'a part below S3\'s 5 MiB minimum')
    t.notOk(schema.safeParse({ type: 's3', url: 's3://sink/a' }).success, 'a URL that is not a prefix')
    t.notOk(schema.safeParse({ type: 's3', url: 's3://sink/a/', roll: { byte: 5 } }).success, 'a misspelt roll key')
    const issues = lintPipelineSource('name: x\nsource: { type: s3, url: "s3://b/in/", format: jsonl }\ntransforms:\n  - { type: frame }\nsink: { type: s3, url: "s3://b/out/" }\n', 'p.yaml')
    t.match(issues, [{ rule: 'security/container-requires-encrypt', severity: 'error', line: 5 }], 'lint: an s3 sink without encrypt is an error, like a container sink')
  })
})
