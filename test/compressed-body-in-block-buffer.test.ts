// A block framed into a recycled buffer is compressed into that same buffer, on a worker or inline, and the
// buffer goes back to the write path once the body is sealed into new memory; never while anything reads it.
import t from 'tap'
import { createSecretKey, randomBytes } from 'node:crypto'
import { BlockBuffers } from '../src/core/container/write/block-buffers.js'
import { toCompressed } from '../src/core/container/write/compressor.js'
import { sealBlock } from '../src/core/container/write/encryptor.js'
import type { Block } from '../src/core/container/blocks.js'
import type { WriterSession } from '../src/core/container/session.js'
import { WorkerPool } from '../src/core/workers/worker-pool.js'
import { decompress } from '../src/core/format/codec.js'
import { BOX_VERSION, canonicalJson, CODECS, DATA_PREFIX_LEN, decodeDataPrefix, encodeInner } from '../src/core/format/format.js'
import { buildAad, open, TAG_LEN } from '../src/core/format/crypto.js'

const MiB = 1 << 20

/** A BlockBuffers that records what is given back. */
function recording(): { buffers: BlockBuffers; given: ArrayBuffer[] } {
  const buffers = new BlockBuffers(MiB)
  const given: ArrayBuffer[] = []
  const give = buffers.give.bind(buffers)
  buffers.give = (ab: ArrayBuffer): void => { given.push(ab); give(ab) }
  return { buffers, given }
}

function block(buffers: BlockBuffers, text: Buffer): Block {
  return { kind: 'block', type: 'JSON', flags: 0, pub: { records: 1 }, priv: {}, data: buffers.join([text]), records: 1, recycle: buffers }
}

const session = (encrypt: boolean): WriterSession => {
  let n = 0
  return { encKey: encrypt ? createSecretKey(randomBytes(32)) : null, containerId: randomBytes(16), sessionId: randomBytes(16), nextCounter: () => n++ } as unknown as WriterSession
}

const texts = {
  'agent logs': Buffer.from(Array.from({ length: 4000 }, (_, i) => JSON.stringify({ i, msg: `step ${i} `.repeat(1 + (i % 40)) })).join('\n').slice(0, MiB - 100) + '\n'),
  'incompressible bytes': randomBytes(MiB),
}

const pool = new WorkerPool(1)
t.teardown(() => pool.close())

for (const [where, p] of [['on a worker', pool], ['inline', undefined]] as const) {
  for (const [name, text] of Object.entries(texts)) {
    t.test(`${name}, compressed ${where}: the body lies in the block's buffer until sealed`, async (t) => {
      const { buffers, given } = recording()
      const b = block(buffers, text)
      const inner = Buffer.concat(encodeInner(Buffer.from(canonicalJson(b.priv), 'utf8'), text))
      const c = await toCompressed(b, 'zstd', undefined, p)
      t.equal(c.recycle, buffers, 'the body is the write path\'s memory')
      t.ok(c.body.buffer.byteLength >= MiB, 'in a block-sized buffer')
      t.same(given, [], 'nothing is given back while the body is there')
      t.ok(decompress(CODECS.zstd, c.body, c.plainLen).equals(inner), 'it decompresses to the block')
      const body = Buffer.from(c.body) // what the sealed box must hold, kept before the buffer can be reused
      const s = session(true)
      const sealed = sealBlock(s, c)
      t.same(given, [c.body.buffer], 'sealed: the buffer goes back, once')
      // The box opens to the compressed body: the ciphertext was made before the buffer was given back.
      const payload = Buffer.concat(sealed.payload)
      const prefix = decodeDataPrefix(payload.subarray(0, DATA_PREFIX_LEN), payload.length, 0)
      const pub = payload.subarray(DATA_PREFIX_LEN, DATA_PREFIX_LEN + prefix.pubLen)
      const sealedBody = payload.subarray(DATA_PREFIX_LEN + prefix.pubLen)
      t.equal(sealedBody.length, body.length + TAG_LEN)
      const aad = buildAad({ containerId: s.containerId, sessionId: s.sessionId, type: 'JSON', version: BOX_VERSION, flags: 0, prefix: payload.subarray(0, DATA_PREFIX_LEN), pub })
      t.ok(open(s.encKey!, prefix.counter, aad, sealedBody).equals(body), 'the box holds the body')
    })
  }

  t.test(`a plaintext session keeps the body (${where}): it is the box's payload, given back once written`, async (t) => {
    const { buffers, given } = recording()
    const c = await toCompressed(block(buffers, texts['agent logs']), 'zstd', undefined, p)
    const sealed = sealBlock(session(false), c)
    t.same(given, [], 'not given back when sealed')
    t.ok(sealed.payload.includes(c.body), 'the payload is the body itself')
    t.type(sealed.release, 'function', 'the box will hand it back once written')
    sealed.release!()
    t.same(given, [c.body.buffer], 'released: the buffer goes back, once')
  })

  t.test(`gzip compresses into new memory (${where}): the block's buffer goes back at once`, async (t) => {
    const { buffers, given } = recording()
    const b = block(buffers, texts['agent logs'])
    const size = b.data.buffer.byteLength // (the buffer itself is moved to the worker, and a new one comes back)
    const c = await toCompressed(b, 'gzip', undefined, p)
    t.equal(c.recycle, undefined)
    t.equal(given.length, 1, 'given back after compressing')
    t.equal(given[0]!.byteLength, size, 'the block\'s buffer')
    t.not(c.body.buffer, given[0], 'the body is elsewhere')
  })
}
