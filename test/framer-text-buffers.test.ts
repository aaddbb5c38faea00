// String and object records are written straight into recycled text buffers. Whatever the mix of record kinds
// (objects, strings with multi-byte characters, Buffers, strings larger than a text buffer), every record
// comes back byte for byte and in order, with and without a worker pool, across many blocks.
import t from 'tap'
import { join } from 'node:path'
import { writeContainer } from '../src/core/container/writer.js'
import { verifyContainer } from '../src/core/container/verify.js'
import { WorkerPool } from '../src/core/workers/worker-pool.js'
import { makeKeys, removeDir, scratchDir, writeOpts } from './helpers/container.js'

function records(): { input: unknown[]; expected: string[] } {
  const input: unknown[] = []
  const expected: string[] = []
  for (let i = 0; i < 6000; i++) {
    let rec: unknown
    let text: string
    switch (i % 5) {
      case 0: rec = { i, msg: `object ${i}`, ok: i % 2 === 0 }; text = JSON.stringify(rec); break
      case 1: text = `{"i":${i},"s":"héllo ✓ 𝄞 ${'é'.repeat(i % 50)}"}`; rec = text; break
      case 2: text = `{"i":${i},"buf":true}`; rec = Buffer.from(text); break
      // Now and then a string larger than a whole text buffer (64 KiB minimum, 3 bytes per unit worst case).
      case 3: text = `{"i":${i},"big":"${(i % 1000 === 3 ? 'ü' : 'x').repeat(i % 1000 === 3 ? 70_000 : 300)}"}`; rec = text; break
      default: rec = { i, nested: { a: [1, 2, 3], s: '日本語' } }; text = JSON.stringify(rec)
    }
    input.push(rec)
    expected.push(text)
  }
  return { input, expected }
}

for (const withPool of [false, true]) {
  t.test(`mixed records round trip ${withPool ? 'with' : 'without'} a worker pool`, async (t) => {
    const dir = await scratchDir()
    t.teardown(() => removeDir(dir))
    const keys = await makeKeys(join(dir, 'keys'))
    const pool = withPool ? new WorkerPool(2) : undefined
    t.teardown(() => pool?.close())
    const { input, expected } = records()
    const path = join(dir, 'mixed.maif')
    // Small blocks by bytes, so that text buffers are cut, reused and handed to blocks many times.
    await writeContainer(path, input, { ...writeOpts(keys, { framer: { blockRecords: 250, blockBytes: 100_000 } }), ...(pool ? { pool } : {}) })
    const got: string[] = []
    let blocks = 0
    const r = await verifyContainer(path, { pinned: [keys.pub], keyProvider: keys.keyring, onBlock: (b) => {
      blocks++
      const s = b.data.toString('utf8')
      t.ok(s.endsWith('\n'), `block ${b.seq} ends with a newline`)
      got.push(...s.slice(0, -1).split('\n'))
    } })
    t.ok(r.ok, 'the container verifies')
    t.ok(blocks > 20, `many blocks (${blocks})`)
    t.equal(got.length, expected.length, 'every record')
    const firstDiff = got.findIndex((g, i) => g !== expected[i])
    t.equal(firstDiff, -1, firstDiff === -1 ? 'every record byte for byte, in order' : `record ${firstDiff} differs`)
  })
}
