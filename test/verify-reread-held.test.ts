// A reader of a local file (onBlock: cat, search, evidence) holds only where each large block (64 KiB or more)
// is and what it hashed to until the checkpoint that covers it verifies; at the release each is read again and
// must still hash to that leaf. (Small blocks are copied when read, as from S3.) A file changed between the scan and the release is a read that failed (MAIF_ERR_IO, thrown as
// every read failure is) at the changed block, and nothing of that block or after it is handed over.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { open, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { verifyContainer, type OpenedBlock } from '../src/core/container/verify.js'
import { writeContainer } from '../src/core/container/writer.js'
import { makeKeys, parseBoxes, removeDir, scratchDir, writeOpts } from './helpers/container.js'

// Records of 64 KiB of base64 (random, so it compresses only to about 48 KiB): blocks of 2 make boxes of ~96 KiB.
const records = Array.from({ length: 8 }, (_, i) => ({ i, blob: randomBytes(48 << 10).toString('base64') }))
const lines = records.map((r) => JSON.stringify(r))

t.test('held blocks are read again at their release', async (t) => {
  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const keys = await makeKeys(join(dir, 'keys'))
  const path = join(dir, 'c.maif')
  // One session, one checkpoint: 4 blocks of 2 records, all released together at the end.
  await writeContainer(path, records, writeOpts(keys, { framer: { blockRecords: 2 } }))
  const original = await readFile(path)
  const data = parseBoxes(original).filter((b) => b.header.type === 'JSON')
  t.equal(data.length, 4, 'four data blocks under one checkpoint')
  t.ok(data.every((b) => b.header.size >= 64 << 10), `large blocks (${data.map((b) => b.header.size).join(', ')} bytes)`)

  await t.test('an unchanged file: every block, with its own data, kept or reused', async (t) => {
    for (const reuseData of [false, true]) {
      const kept: OpenedBlock[] = []
      const copies: string[] = []
      const r = await verifyContainer(path, { keyProvider: keys.keyring, pinned: [keys.pub], reuseData, onBlock: (b) => { kept.push(b); copies.push(b.data.toString()) } })
      t.ok(r.ok, `verifies (reuseData ${reuseData})`)
      t.strictSame(copies.join('').split('\n').filter(Boolean), lines, 'the records, in order')
      t.strictSame(kept.map((b) => b.offset), data.map((b) => b.offset), 'every block at its offset')
      // Without reuseData a block's data is its own: still intact after every other block was read again.
      if (!reuseData) t.strictSame(kept.map((b) => b.data.toString()), copies, 'kept data intact after the read')
    }
  })

  await t.test('a block changed after the scan is not released', async (t) => {
    const released: number[] = []
    const target = data[2]!
    const read = verifyContainer(path, {
      keyProvider: keys.keyring, pinned: [keys.pub],
      onBlock: async (b) => {
        released.push(b.offset)
        if (released.length === 1) {
          // The checkpoint has verified, and blocks 2–4 wait to be read again: change one byte of block 3.
          const fh = await open(path, 'r+')
          try {
            const last = target.offset + target.header.size - 1
            await fh.write(Buffer.from([original[last]! ^ 0x01]), 0, 1, last)
          } finally {
            await fh.close()
          }
        }
      },
    })
    await t.rejects(read, { code: 'MAIF_ERR_IO', offset: target.offset, message: /changed after it was verified/ }, 'the read fails at the changed block')
    t.strictSame(released, [data[0]!.offset, data[1]!.offset], 'the blocks before it, and not it or any after it')
  })

  await t.test('small blocks are copied when read: a later change to the file does not reach the reader', async (t) => {
    const small = join(dir, 'small.maif')
    const few = lines.slice(0, 4).map((_, i) => ({ i, msg: `record ${i}` }))
    await writeContainer(small, few, writeOpts(keys, { framer: { blockRecords: 1 } }))
    const bytes = await readFile(small)
    const boxes = parseBoxes(bytes).filter((b) => b.header.type === 'JSON')
    t.ok(boxes.every((b) => b.header.size < 64 << 10), 'small blocks')
    const got: string[] = []
    const r = await verifyContainer(small, {
      keyProvider: keys.keyring, pinned: [keys.pub],
      onBlock: async (b) => {
        got.push(b.data.toString())
        if (got.length === 1) {
          const fh = await open(small, 'r+')
          try {
            const last = boxes[2]!.offset + boxes[2]!.header.size - 1
            await fh.write(Buffer.from([bytes[last]! ^ 0x01]), 0, 1, last)
          } finally {
            await fh.close()
          }
        }
      },
    })
    t.ok(r.ok, 'the read verified what it read')
    t.strictSame(got.join('').split('\n').filter(Boolean), few.map((o) => JSON.stringify(o)), 'the bytes that were verified, every record')
  })
})
