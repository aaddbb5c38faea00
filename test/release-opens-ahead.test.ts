// A reader's blocks are released in order, each only after the previous block's onBlock settled, while the next
// block is already being opened (cat decompresses instead of waiting for its pipe). With reuseData, blocks
// alternate between two buffers: a block's data must stay intact until its own promise settled, however slow.
import t, { type Test } from 'tap'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { writeContainer } from '../src/core/container/writer.js'
import { verifyContainer } from '../src/core/container/verify.js'
import { makeKeys, removeDir, scratchDir, writeOpts } from './helpers/container.js'

const RECORDS = 9

async function fixture(t: Test): Promise<{ path: string; keys: Awaited<ReturnType<typeof makeKeys>> }> {
  const dir = await scratchDir()
  t.teardown(() => removeDir(dir))
  const keys = await makeKeys(join(dir, 'keys'))
  const path = join(dir, 'c.maif')
  // One record per block, each block a different size and content; one checkpoint covers them all.
  const records = Array.from({ length: RECORDS }, (_, i) => ({ i, pad: String.fromCharCode(97 + i).repeat(1000 * (i + 1)) }))
  await writeContainer(path, records, writeOpts(keys, { framer: { blockRecords: 1 } }))
  return { path, keys }
}

t.test('slow onBlock with reuseData: calls never overlap, come in order, and each block stays intact until it settles', async (t) => {
  const { path, keys } = await fixture(t)
  const seen: number[] = []
  let inside = false
  let overlapped = false
  let damaged = 0
  const r = await verifyContainer(path, {
    keyProvider: keys.keyring, pinned: [keys.pub], reuseData: true,
    onBlock: async (b) => {
      if (inside) overlapped = true
      inside = true
      const snapshot = Buffer.from(b.data)
      await sleep(15) // the next block is opened meanwhile
      if (!snapshot.equals(b.data)) damaged++
      seen.push((JSON.parse(b.data.toString('utf8')) as { i: number }).i)
      inside = false
    },
  })
  t.ok(r.ok, JSON.stringify(r.errors))
  t.notOk(overlapped, 'onBlock is never entered before the previous call settled')
  t.equal(damaged, 0, 'no block\'s data changed while its onBlock was pending')
  t.strictSame(seen, Array.from({ length: RECORDS }, (_, i) => i), 'every block, in file order')
})

t.test('an onBlock that fails stops the release there: its error is reported, no later block is handed over', async (t) => {
  const { path, keys } = await fixture(t)
  const seen: number[] = []
  const r = await verifyContainer(path, {
    keyProvider: keys.keyring, pinned: [keys.pub], reuseData: true,
    onBlock: async (b) => {
      const i = (JSON.parse(b.data.toString('utf8')) as { i: number }).i
      seen.push(i)
      await sleep(5)
      if (i === 3) throw new Error('the sink broke at record 3')
    },
  })
  t.notOk(r.ok)
  t.match(r.errors[0]?.message ?? '', /the sink broke at record 3/)
  t.strictSame(seen, [0, 1, 2, 3], 'nothing after the failing block was handed over')
})
