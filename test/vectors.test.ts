// Test vectors: small containers built from fixed keys, ids and clocks, checked byte for byte so that
// docs/FORMAT.md, the code and test/vectors/ cannot drift apart. Regenerate (after a deliberate format
// change, with FORMAT.md updated) with: MAIF_WRITE_VECTORS=1 npx tap test/vectors.test.ts
import t from 'tap'
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto'
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
  async generateDataKey() { return { plaintext: Buffer.from(DATA_KEY), wrapped: Buffer.from('static-wrapped-key'), keyId: 'static:vector' } },
  async decryptDataKey(wrapped) {
    if (!wrapped.equals(Buffer.from('static-wrapped-key'))) throw new MaifError('MAIF_ERR_KEY_UNAVAILABLE', 'not the vector key')
    return Buffer.from(DATA_KEY)
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
]

async function build(path: string, v: (typeof VECTORS)[number]): Promise<void> {
  let start = 1_764_000_000_000
  for (const s of v.sessions) {
    await writeContainer(path, s.records, {
      signer, keyProvider: staticKeys, encryption: s.encryption, codec: s.codec, writer: 'maif test vectors',
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
    const r = await verifyContainer(stored, { pinned: [pub], keyProvider: staticKeys, onBlock: (b) => { got.push(...b.data.toString().split('\n').filter(Boolean)) } })
    t.equal(r.ok, true, JSON.stringify(r.errors))
    t.equal(r.root, exp.root)
    t.equal(r.treeSize, exp.treeSize)
    t.same(got, exp.records, 'the records decode from the vector')
  })
}
