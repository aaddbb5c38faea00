// A reader of a local file (onBlock: cat, search, evidence) holds only where each block is and what it hashed
// to until the checkpoint that covers it verifies; at the release each block is read again and must still hash
// to that leaf. A file changed between the scan and the release is a read that failed (MAIF_ERR_IO, thrown as
// every read failure is) at the changed block, and nothing of that block or after it is handed over.
import t from 'tap'
import { open, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { verifyContainer, type OpenedBlock } from '../src/core/container/verify.js'
import { writeContainer } from '../src/core/container/writer.js'
import { jsonRecords, makeKeys, parseBoxes, removeDir, scratchDir, writeOpts } from './helpers/container.js'

const lines = (n: number, from = 0): string[] => jsonRecords(n, from).map((r) => JSON.stringify(r))

t.test('held blocks are read again at their release', async (t) => {
  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const keys = await makeKeys(join(dir, 'keys'))
  const path = join(dir, 'c.maif')
  // One session, one checkpoint: 4 blocks of 5 records, all released together at the end.
  await writeContainer(path, jsonRecords(20), writeOpts(keys))
  const original = await readFile(path)
  const data = parseBoxes(original).filter((b) => b.header.type === 'JSON')
  t.equal(data.length, 4, 'four data blocks under one checkpoint')

  await t.test('an unchanged file: every block, with its own data, kept or reused', async (t) => {
    for (const reuseData of [false, true]) {
      const kept: OpenedBlock[] = []
      const copies: string[] = []
      const r = await verifyContainer(path, { keyProvider: keys.keyring, pinned: [keys.pub], reuseData, onBlock: (b) => { kept.push(b); copies.push(b.data.toString()) } })
      t.ok(r.ok, `verifies (reuseData ${reuseData})`)
      t.strictSame(copies.join('').split('\n').filter(Boolean), lines(20), 'the records, in order')
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
})
