// A pipeline from an S3 prefix (ListObjectsV2 paging, objects as streams) to rolling S3 containers, killed
// with SIGKILL after some parts were uploaded and rerun: no record is lost; finished objects are not read again;
// dead letters name the object and line; `maif verify s3://…/out/` passes and cat returns the records.
import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { S3Client, CreateBucketCommand, PutObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import { generateKeyring, loadKeyring } from '../src/core/format/keyring.js'
import { verifyContainer } from '../src/core/container/verify.js'
import { CLI, maif } from './helpers/cli.js'
import { startMoto } from './helpers/moto.js'

const PIPELINE = fileURLToPath(new URL('./fixtures/s3/kill-pipeline.ts', import.meta.url))
const OBJECTS = 5
const PER_OBJECT = 300

function run(env: Record<string, string>, killWhen: (() => boolean) | null): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const childEnv: Record<string, string | undefined> = { ...process.env, ...env }
    delete childEnv.NODE_OPTIONS
    const child = spawn(process.execPath, [CLI, 'run', PIPELINE, '--json', '--no-progress', '--log-level', 'warn'], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const timer = killWhen ? setInterval(() => { if (killWhen()) { clearInterval(timer); child.kill('SIGKILL') } }, 20) : undefined
    child.on('error', reject)
    child.on('close', (code, signal) => { clearInterval(timer); resolve({ code, signal, stdout, stderr }) })
  })
}

t.test('killed mid-run and rerun: no record lost', async (t) => {
  const moto = await startMoto(t)
  const s3 = new S3Client({ ...moto.clientConfig, forcePathStyle: true })
  t.teardown(() => s3.destroy())
  await s3.send(new CreateBucketCommand({ Bucket: 'job' }))
  const dir = t.testdir()
  const keys = join(dir, 'keys')
  await generateKeyring(keys)
  const want: string[] = []
  for (let o = 0; o < OBJECTS; o++) {
    const lines: string[] = []
    for (let n = 0; n < PER_OBJECT; n++) {
      const rec = JSON.stringify({ o, n, pad: 'x'.repeat(n % 50) })
      lines.push(rec)
      want.push(rec)
      if (o === 3 && n === 10) lines.push('{"broken": ') // line 12 of object 3
    }
    await s3.send(new PutObjectCommand({ Bucket: 'job', Key: `in/obj-${o}.jsonl`, Body: lines.join('\n') + '\n' }))
  }
  const env = { ...moto.env, BUCKET: 'job', OUT_DIR: join(dir, 'out'), KEYS: keys }
  const cursor = join(dir, 'out', 's3.cursor')

  // First run: records past 700 are held for ever; once a part is uploaded and the cursor moved, kill -9.
  const first = await run({ ...env, HANG_AFTER: '700' }, () => existsSync(cursor) && readFileSync(cursor, 'utf8').includes('"done":true'))
  t.equal(first.signal, 'SIGKILL', `the first run was killed (${first.stderr})`)
  const afterKill = readFileSync(cursor, 'utf8')
  t.match(afterKill, /"in\/obj-0.jsonl":\{"offset":\d+,"line":300,"done":true/, 'the cursor marked the first object done')

  const second = await run(env, null)
  t.equal(second.code, 0, second.stderr)
  const report = JSON.parse(second.stdout) as { status: string; reconciled: boolean; delivered: number }
  t.equal(report.status, 'completed')
  t.equal(report.reconciled, true)
  t.ok(report.delivered < OBJECTS * PER_OBJECT, `the rerun did not read finished objects again (${report.delivered} records delivered)`)

  const outKeys = ((await s3.send(new ListObjectsV2Command({ Bucket: 'job', Prefix: 'out/' }))).Contents ?? []).map((c) => c.Key!).sort()
  t.ok(outKeys.length >= 3, `parts: ${outKeys.join(', ')}`)
  t.ok(outKeys.every((k) => /^out\/\d{4}\/\d{2}\/\d{2}\/part-\d{6}\.maif$/.test(k)), 'parts are named prefix/YYYY/MM/DD/part-NNNNNN.maif')

  Object.assign(process.env, moto.env)
  const kr = await loadKeyring(keys)
  const seen = new Map<string, number>()
  for (const k of outKeys) {
    const r = await verifyContainer(`s3://job/${k}`, {
      keyProvider: kr, pinned: [kr.signer.publicKey],
      onBlock: (b) => { for (const l of b.data.toString().split('\n')) if (l) seen.set(l, (seen.get(l) ?? 0) + 1) },
    })
    t.equal(r.ok, true, `${k} verifies ${JSON.stringify(r.errors)}`)
  }
  t.equal(want.filter((w) => !seen.has(w)).length, 0, 'every input record is in some object')
  t.equal(seen.size, want.length, 'and nothing else')

  const dead = readFileSync(join(dir, 'out', 'dead.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { raw: string; source: { object: string; line: number } })
  t.ok(dead.length >= 1 && dead.every((d) => d.raw === '{"broken": ' && d.source.object === 's3://job/in/obj-3.jsonl' && d.source.line === 12), `the malformed line is dead-lettered with its object and line: ${JSON.stringify(dead)}`)

  const v = await maif(['verify', 's3://job/out/', '--pub', join(keys, 'maif.pub')], { env: moto.env })
  t.equal(v.code, 0, v.stdout + v.stderr)
})
