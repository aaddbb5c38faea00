// With AWS KMS unreachable, a write stops with a typed error (MAIF_ERR_KMS_UNREACHABLE) after the SDK's
// retries, before one byte of plaintext or ciphertext is written: `pack` and `run` leave no output file, and no
// file anywhere in the working directory holds any input record. An existing container is left unchanged.
import t, { type Test } from 'tap'
import { join } from 'node:path'
import { createServer } from 'node:net'
import { readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { maif } from './helpers/cli.js'
import { jsonRecords, makeKeys, removeDir, scratchDir, writeOpts } from './helpers/container.js'
import { writeContainer } from '../src/core/container/writer.js'
import { verifyContainer } from '../src/core/container/verify.js'
import { KMSClient } from '@aws-sdk/client-kms'
import { KmsKeyProvider } from '../src/core/format/kms/key-provider.js'

/** A loopback port nothing listens on: connections to it are refused. */
async function deadPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address()
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0))
    })
  })
}

/** Every file under `dir` whose bytes contain one of `needles`. */
async function filesContaining(dir: string, needles: string[]): Promise<string[]> {
  const hits: string[] = []
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue
    const p = join(e.parentPath, e.name)
    const text = (await readFile(p)).toString('latin1')
    if (needles.some((n) => text.includes(n))) hits.push(p)
  }
  return hits
}

t.test('KMS unreachable', async (t) => {
  const port = await deadPort()
  const env = {
    AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test',
    AWS_EC2_METADATA_DISABLED: 'true', MAIF_KEYRING: '',
  }
  const root = await scratchDir()
  t.teardown(() => removeDir(root))
  const keys = await makeKeys(join(root, 'keys'))
  const records = Array.from({ length: 20 }, (_, i) => JSON.stringify({ secret: `record-${i}-payload` }))
  const needles = records.map((r) => (JSON.parse(r) as { secret: string }).secret)

  const work = async (name: string): Promise<{ dir: string; input: string; out: string }> => {
    const dir = join(root, name)
    const { mkdir } = await import('node:fs/promises')
    await mkdir(dir)
    const input = join(dir, 'in.jsonl')
    await writeFile(input, records.join('\n') + '\n')
    return { dir, input, out: join(dir, 'out.maif') }
  }
  const noOutput = async (t: Test, w: { dir: string; input: string; out: string }): Promise<void> => {
    t.notOk(existsSync(w.out), 'no output container exists')
    t.same((await filesContaining(w.dir, needles)).filter((p) => p !== w.input), [], 'no file but the input holds any input record')
  }

  await t.test('pack with KMS data keys', async (t) => {
    const w = await work('pack-keys')
    const r = await maif(['pack', w.input, '-o', w.out, '--keyring', keys.dir, '--kms-key-id', 'alias/maif'], { env })
    t.equal(r.code, 2, 'an unreachable key service is an environment error (exit 2), not an integrity failure')
    t.match(r.stderr, /MAIF_ERR_KMS_UNREACHABLE/)
    t.match(r.stderr, /after 3 attempts/, "the SDK's retry strategy retried before giving up")
    await noOutput(t, w)
  })

  await t.test('pack with a KMS signer', async (t) => {
    const w = await work('pack-sign')
    const r = await maif(['pack', w.input, '-o', w.out, '--keyring', keys.dir, '--kms-sign-key-id', 'alias/maif-sign'], { env })
    t.not(r.code, 0)
    t.match(r.stderr, /MAIF_ERR_KMS_UNREACHABLE/)
    await noOutput(t, w)
  })

  for (const [name, encrypt, sign] of [
    ['run with encrypt.kms', `{ type: encrypt, kms: { keyId: alias/maif } }`, `{ type: sign, keyring: ${keys.dir} }`],
    ['run with sign.kms', `{ type: encrypt, keyring: ${keys.dir} }`, `{ type: sign, kms: { keyId: alias/maif-sign } }`],
  ] as const) {
    await t.test(name, async (t) => {
      const w = await work(name.replace(/\W+/g, '-'))
      const def = join(w.dir, 'p.yaml')
      await writeFile(def, [
        'name: kms-down',
        `source: { type: file, path: ${w.input}, format: jsonl }`,
        'transforms:',
        '  - { type: frame }',
        '  - { type: compress, codec: zstd }',
        `  - ${encrypt}`,
        '  - { type: chain }',
        `  - ${sign}`,
        `sink: { type: container, path: ${w.out} }`,
        `deadLetter: { type: file, path: ${w.out}.dead.jsonl }`,
        '',
      ].join('\n'))
      const v = await maif(['validate', def], { env })
      t.equal(v.code, 78, 'validate reports the key it cannot obtain')
      t.match(v.stdout + v.stderr, /MAIF_ERR_KMS_UNREACHABLE/)
      const r = await maif(['run', def, '--no-progress', '--log-level', 'silent'], { env })
      t.not(r.code, 0)
      t.match(r.stderr, /MAIF_ERR_KMS_UNREACHABLE/)
      await noOutput(t, w)
    })
  }

  await t.test('appending to an existing container: it is left unchanged', async (t) => {
    const w = await work('append')
    await writeContainer(w.out, jsonRecords(5), writeOpts(keys))
    const before = await readFile(w.out)
    const client = new KMSClient({ region: 'us-east-1', endpoint: env.AWS_ENDPOINT_URL, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
    t.teardown(() => client.destroy())
    const provider = new KmsKeyProvider({ keyIds: ['alias/maif'], client })
    await t.rejects(writeContainer(w.out, records.map((r) => JSON.parse(r) as unknown), writeOpts(keys, { keyProvider: provider })), { code: 'MAIF_ERR_KMS_UNREACHABLE' })
    t.same(await readFile(w.out), before, 'not one byte was appended')
    t.ok((await stat(w.out)).size > 0)
    t.ok((await verifyContainer(w.out, { pinned: [keys.pub], keyProvider: keys.keyring })).ok)
  })
})
