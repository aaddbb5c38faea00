// Test vectors: small containers built from fixed keys, ids and clocks, checked byte for byte so that
// docs/FORMAT.md, the code and test/vectors/ cannot drift apart. Regenerate (after a deliberate format
// change, with FORMAT.md updated) with: MAIF_WRITE_VECTORS=1 npx tap test/vectors.test.ts
import t from 'tap'
import { createHash, createPrivateKey, createPublicKey, createSecretKey } from 'node:crypto'
import { readFileSync, writeFileSync, existsSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeContainer } from '../src/core/container/writer.js'
import { verifyContainer } from '../src/core/container/verify.js'
import { scanBoxes } from '../src/core/container/scanner.js'
import { leafHash } from '../src/core/format/merkle.js'
import { LocalSigner } from '../src/core/format/signing.js'
import { MaifError } from '../src/core/errors.js'
import type { KeyProvider } from '../src/core/format/keyring.js'

const DIR = fileURLToPath(new URL('./vectors', import.meta.url))
const WRITE = process.env.MAIF_WRITE_VECTORS === '1'

// Fixed Ed25519 key (deterministic signatures) from a 32-byte seed.
const seed = Buffer.alloc(32, 0x42)
const signingKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' })
const signer = new LocalSigner(signingKey)
const DATA_KEY = Buffer.alloc(32, 0x11)

/** A key provider with one fixed data key: for vectors only, never for data. */
const staticKeys: KeyProvider = {
  name: 'static-test-vector',
  async generateDataKey() { return { key: createSecretKey(DATA_KEY), wraps: [{ keyId: 'static:vector', wrapped: Buffer.from('static-wrapped-key') }] } },
  async decryptDataKey(kind, wraps) {
    if (kind !== 'static-test-vector' || !wraps[0]?.wrapped.equals(Buffer.from('static-wrapped-key'))) throw new MaifError('MAIF_ERR_KEY_UNAVAILABLE', 'not the vector key')
    return createSecretKey(DATA_KEY)
  },
}

/**
 * The same fixed data key recorded as AWS KMS wrapped it under two keys (key-wrap kind 'aws-kms', with
 * extraWraps): the session box layout of FORMAT.md §5.2 for KMS, without a KMS server. Never for data.
 */
const KMS_A = 'arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111'
const KMS_B = 'arn:aws:kms:eu-west-1:123456789012:key/22222222-2222-2222-2222-222222222222'
const staticKmsKeys: KeyProvider = {
  name: 'aws-kms',
  async generateDataKey() {
    return { key: createSecretKey(DATA_KEY), wraps: [{ keyId: KMS_A, wrapped: Buffer.from('kms-blob-a') }, { keyId: KMS_B, wrapped: Buffer.from('kms-blob-b') }] }
  },
  async decryptDataKey(kind, wraps) {
    if (kind !== 'aws-kms' || wraps.length !== 2 || !wraps[1]!.wrapped.equals(Buffer.from('kms-blob-b')) || wraps[1]!.keyId !== KMS_B) throw new MaifError('MAIF_ERR_KEY_UNAVAILABLE', 'not the vector key')
    return createSecretKey(DATA_KEY)
  },
}

interface Expected {
  description: string
  sha256: string
  size: number
  records: string[]
  publicKey: string
  boxes: Array<{ offset: number; type: string; seq: number; size: number; leaf: string | null }>
  root: string
  treeSize: number
}

function clock(start: number): () => number {
  let t = start
  return () => (t += 1)
}

const VECTORS = [
  {
    name: 'v1-plain', description: 'one plaintext session (encryption none), codec none, Ed25519, 3 JSON records in 2 blocks',
    sessions: [{ records: ['{"a":1}', '{"b":"two"}', '{"c":[3]}'], encryption: 'none' as const, codec: 'none' as const, sessionId: 'aa' }],
  },
  {
    name: 'v1-encrypted', description: 'two sessions (the second appended), AES-256-GCM with data key 32×0x11, zstd, Ed25519',
    sessions: [
      { records: ['{"agent":"a1","msg":"hello"}', '{"agent":"a1","msg":"world"}'], encryption: 'required' as const, codec: 'zstd' as const, sessionId: 'bb' },
      { records: ['{"agent":"a2","msg":"appended"}'], encryption: 'required' as const, codec: 'zstd' as const, sessionId: 'cc' },
    ],
  },
  {
    name: 'v1-kms-wraps', description: "one session whose data key (32×0x11) is recorded as wrapped by AWS KMS under two keys (key-wrap kind aws-kms, extraWraps), codec none, Ed25519",
    keys: staticKmsKeys,
    sessions: [{ records: ['{"kms":true}'], encryption: 'required' as const, codec: 'none' as const, sessionId: 'dd' }],
  },
] as Array<{ name: string; description: string; keys?: KeyProvider; sessions: Array<{ records: string[]; encryption: 'none' | 'required'; codec: 'none' | 'zstd'; sessionId: string }> }>

async function build(path: string, v: (typeof VECTORS)[number]): Promise<void> {
  let start = 1_764_000_000_000
  for (const s of v.sessions) {
    await writeContainer(path, s.records, {
      signer, keyProvider: v.keys ?? staticKeys, encryption: s.encryption, codec: s.codec, writer: 'maif test vectors',
      containerId: Buffer.alloc(16, 0xc0), sessionId: Buffer.alloc(16, Number.parseInt(s.sessionId, 16)), now: clock(start),
      framer: { blockRecords: 2 }, checkpointEvery: { blocks: 100, ms: 0 },
    })
    start += 1000
  }
}

async function describe(path: string): Promise<Expected['boxes']> {
  const fh = await open(path, 'r')
  try {
    const out: Expected['boxes'] = []
    for await (const b of scanBoxes(fh, (await fh.stat()).size)) {
      out.push({ offset: b.offset, type: b.header.type, seq: b.header.seq, size: b.header.size, leaf: b.header.type === 'ckpt' || b.header.type === 'tail' ? null : leafHash(b.bytes).toString('hex') })
    }
    return out
  } finally {
    await fh.close()
  }
}

for (const v of VECTORS) {
  t.test(`vector ${v.name}`, async (t) => {
    const fresh = join(t.testdir(), `${v.name}.maif`)
    await build(fresh, v)
    const bytes = readFileSync(fresh)
    const stored = join(DIR, `${v.name}.maif`)
    const expFile = join(DIR, `${v.name}.json`)
    if (WRITE) {
      const r = await verifyContainer(fresh, { pinned: [signer.publicKey] })
      const exp: Expected = {
        description: v.description, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length,
        records: v.sessions.flatMap((s) => s.records), publicKey: signer.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        boxes: await describe(fresh), root: r.root!, treeSize: r.treeSize,
      }
      writeFileSync(stored, bytes)
      writeFileSync(expFile, JSON.stringify(exp, null, 2) + '\n')
    }
    t.ok(existsSync(stored), 'the vector file is in the repository')
    const exp = JSON.parse(readFileSync(expFile, 'utf8')) as Expected
    t.equal(bytes.length, exp.size)
    t.equal(createHash('sha256').update(bytes).digest('hex'), exp.sha256, 'the writer reproduces the vector byte for byte')
    t.same(bytes, readFileSync(stored))
    t.same(await describe(stored), exp.boxes, 'box layout and leaf hashes match the vector')
    const pub = createPublicKey(exp.publicKey)
    const got: string[] = []
    const r = await verifyContainer(stored, { pinned: [pub], keyProvider: v.keys ?? staticKeys, onBlock: (b) => { got.push(...b.data.toString().split('\n').filter(Boolean)) } })
    t.equal(r.ok, true, JSON.stringify(r.errors))
    t.equal(r.root, exp.root)
    t.equal(r.treeSize, exp.treeSize)
    t.same(got, exp.records, 'the records decode from the vector')
  })
}
