import t from 'tap'
import { join } from 'node:path'
import { readFile } from 'node:fs/promises'
import { writeContainer } from '../src/core/writer.js'
import { generateKeyring, loadKeyring, loadPublicKey } from '../src/core/keyring.js'
import { verifyContainer } from '../src/core/verify.js'

t.test('scratch', async (t) => {
  const dir = t.testdir({})
  await generateKeyring(join(dir, 'k'))
  const kr = await loadKeyring(join(dir, 'k'))
  const pub = await loadPublicKey(join(dir, 'k', 'maif.pub'))
  const f = join(dir, 'a.maif')
  const recs = Array.from({ length: 20 }, (_, i) => ({ i, msg: 'hello ' + i }))
  await writeContainer(f, recs, { keyProvider: kr, signer: kr.signer, framer: { blockRecords: 5 }, checkpointEvery: { blocks: 2, ms: 0 } })
  const r = await verifyContainer(f, { pinned: [pub], keyProvider: kr })
  console.log(JSON.stringify(r, null, 1))
  const g = join(dir, 'b.maif')
  await writeContainer(g, recs, { keyProvider: kr, signer: kr.signer, framer: { blockRecords: 5 }, checkpointEvery: { ms: 0 } })
  await writeContainer(g, recs.slice(0, 7), { keyProvider: kr, signer: kr.signer, framer: { blockRecords: 5 }, checkpointEvery: { ms: 0 } })
  const buf = await readFile(g)
  console.log('size', buf.length)
  let t0 = performance.now()
  for (let i = 0; i < 200; i++) await verifyContainer(g, { pinned: [pub] })
  console.log('ms/verify pinned', (performance.now() - t0) / 200)
  t0 = performance.now()
  for (let i = 0; i < 100; i++) await verifyContainer(g, { pinned: [pub], keyProvider: kr })
  console.log('ms/verify key', (performance.now() - t0) / 100)
  console.log(JSON.stringify(await verifyContainer(g, { pinned: [pub] })))
})
