// Binary inputs through the engine: each file is one object, split into segments, and comes back whole
// even when the source is asked to read several files at once.
import '../src/builtins.js'
import t from 'tap'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { generateKeyring, loadKeyring } from '../src/core/format/keyring.js'
import { runPipeline } from '../src/core/runtime/engine.js'
import { verifyContainer } from '../src/core/container/verify.js'
import { FLAG_CONTINUES } from '../src/core/format/format.js'

t.test('binary files with several segments each stay whole with concurrency 3', async (t) => {
  const dir = t.testdir()
  await generateKeyring(join(dir, 'k'))
  const kr = await loadKeyring(join(dir, 'k'))
  mkdirSync(join(dir, 'in'))
  const files = ['a.bin', 'b.bin', 'c.bin'].map((name, i) => {
    const data = randomBytes((4 << 20) + 1000 * (i + 1)) // just over one 4 MiB segment
    writeFileSync(join(dir, 'in', name), data)
    return { name, data }
  })
  const report = await runPipeline({
    source: { type: 'file', path: join(dir, 'in'), format: 'binary', concurrency: 3 },
    transforms: [{ type: 'frame' }, { type: 'compress', codec: 'none' }, { type: 'encrypt', keyring: join(dir, 'k') }, { type: 'chain' }, { type: 'sign' }],
    sink: { type: 'container', path: join(dir, 'out.maif') },
  })
  t.equal(report.delivered, 3)
  const objects: Array<{ name: string; parts: Buffer[] }> = []
  let current: { name: string; parts: Buffer[] } | null = null
  const r = await verifyContainer(join(dir, 'out.maif'), {
    keyProvider: kr, pinned: [kr.signer.publicKey],
    onBlock: (b) => {
      current ??= { name: String(b.pub.name), parts: [] }
      current.parts.push(b.data)
      if ((b.flags & FLAG_CONTINUES) === 0) { objects.push(current); current = null }
    },
  })
  t.equal(r.ok, true, JSON.stringify(r.errors))
  t.same(objects.map((o) => o.name).sort(), files.map((f) => f.name))
  for (const f of files) {
    const o = objects.find((x) => x.name === f.name)!
    t.ok(Buffer.concat(o.parts).equals(f.data), `${f.name} comes back byte for byte`)
  }
})
