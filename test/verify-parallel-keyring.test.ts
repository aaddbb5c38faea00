// Decrypting on worker threads (what `maif verify --keyring` uses for containers from 16 MiB up) reaches the
// same verdict as decrypting on the main thread: the same report for a good container, and the same first
// error for a damaged one, wherever the damage is (header, metadata, ciphertext, tag) and for a box above the
// reader's size limit. The boxes are larger than the 4 KiB head the main thread reads, so the workers really
// read, hash and open them.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { verifyContainer } from '../src/core/container/verify.js'
import { writeContainer } from '../src/core/container/writer.js'
import { readKeyProvider } from '../src/core/format/kms/read-keys.js'
import { WorkerPool } from '../src/core/workers/worker-pool.js'
import { flipBit, makeKeys, parseBoxes, removeDir, scratchDir, verifyBytes, writeOpts } from './helpers/container.js'

/** Records of random hex: they barely compress, so each 8-record block is a box of about 16 KiB. */
const records = (n: number, from: number): Array<Record<string, unknown>> =>
  Array.from({ length: n }, (_, k) => ({ i: from + k, blob: randomBytes(1000).toString('hex') }))

t.test('a pool and the main thread agree when every block is decrypted', async (t) => {
  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const pool = new WorkerPool(2, { lazy: true })
  t.teardown(() => pool.close())
  const keys = await makeKeys(join(dir, 'keys'))
  const path = join(dir, 'c.maif')
  await writeContainer(path, records(40, 0), writeOpts(keys, { framer: { blockRecords: 8 } }))
  await writeContainer(path, records(24, 40), writeOpts(keys, { framer: { blockRecords: 8 } }))
  const bytes = await readFile(path)
  const opts = { pinned: [keys.pub], keyProvider: readKeyProvider(keys.keyring) }

  const inline = await verifyContainer(path, opts)
  const parallel = await verifyContainer(path, { ...opts, pool, poolMinBoxBytes: 0 })
  t.ok(inline.ok, 'the container verifies')
  t.equal(inline.blocks, 8, 'eight blocks over two sessions')
  t.equal(inline.decrypted, true)
  t.strictSame(parallel, inline, 'the same report with a pool')
  t.equal(pool.started, true, 'the workers did the reading (poolMinBoxBytes: 0 sends boxes of any size)')

  const boxes = parseBoxes(bytes)
  const data = boxes.filter((b) => b.header.type === 'JSON')
  t.ok(data.every((b) => b.header.size > 8192), 'every data box is larger than the head the main thread reads')

  // A flip at the start, middle and end of every box (the end of a data box is its GCM tag).
  for (const [i, box] of boxes.entries()) {
    for (const at of [box.offset + 40, box.offset + Math.floor(box.header.size / 2), box.offset + box.header.size - 1]) {
      const damaged = flipBit(bytes, at)
      const file = join(dir, `flip-${i}-${at}.maif`)
      const a = await verifyBytes(file, damaged, opts)
      const b = await verifyContainer(file, { ...opts, pool, poolMinBoxBytes: 0 })
      t.notOk(a.ok, `a flip at ${at} in box ${i} (${box.header.type}) is detected`)
      t.strictSame(b.errors, a.errors, `box ${i} at ${at}: the pool reports the same errors`)
    }
  }

  // A ciphertext flip is an authentication failure, reported at its block by both paths.
  const target = data[3]!
  const file = join(dir, 'tag.maif')
  const a = await verifyBytes(file, flipBit(bytes, target.offset + target.header.size - 100), opts)
  const b = await verifyContainer(file, { ...opts, pool, poolMinBoxBytes: 0 })
  t.equal(b.errors[0]?.code, 'MAIF_ERR_DECRYPT', 'the worker\'s failed tag is the report\'s error')
  t.equal(b.errors[0]?.seq, target.header.seq)
  t.strictSame(b.errors, a.errors)

  // A reader limit below the data boxes' size: the same refusal, before any worker reads them.
  const small = { ...opts, maxBoxBytes: 8192 }
  const la = await verifyContainer(path, small)
  const lb = await verifyContainer(path, { ...small, pool, poolMinBoxBytes: 0 })
  t.equal(lb.errors[0]?.code, 'MAIF_ERR_BOX_TOO_LARGE')
  t.strictSame(lb.errors, la.errors)

  // Cut inside the last data box: the same truncation report.
  const cut = join(dir, 'cut.maif')
  const last = data[data.length - 1]!
  const ta = await verifyBytes(cut, bytes.subarray(0, last.offset + 5000), opts)
  t.equal((await stat(cut)).size, last.offset + 5000)
  const tb = await verifyContainer(cut, { ...opts, pool, poolMinBoxBytes: 0 })
  t.notOk(ta.ok)
  t.strictSame(tb.errors, ta.errors, 'a truncated box fails the same way')
})

t.test('a box that changed after the main thread read its head is refused by the worker', async (t) => {
  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const pool = new WorkerPool(1)
  t.teardown(() => pool.close())
  const keys = await makeKeys(join(dir, 'keys'))
  const path = join(dir, 'c.maif')
  await writeContainer(path, records(8, 0), writeOpts(keys, { framer: { blockRecords: 8 } }))
  const box = parseBoxes(await readFile(path)).find((b) => b.header.type === 'JSON')!
  const head = Buffer.from(box.bytes.subarray(0, 4096))
  const ok = await pool.run({ op: 'boxes', path, maxBox: 1 << 20, boxes: [{ offset: box.offset, size: box.header.size, head }] })
  t.equal(ok.op === 'boxes' && ok.failed, undefined, 'the same head: hashed')
  t.equal(ok.op === 'boxes' && ok.leaves.length, 1)
  head[100] = head[100]! ^ 1
  const changed = await pool.run({ op: 'boxes', path, maxBox: 1 << 20, boxes: [{ offset: box.offset, size: box.header.size, head }] })
  t.equal(changed.op === 'boxes' && changed.failed?.code, 'MAIF_ERR_IO')
  t.equal(changed.op === 'boxes' && changed.leaves.length, 0, 'no leaf for bytes the main thread did not check')
})
