import t from 'tap'
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import { writeContainer } from '../src/core/writer.js'
import { verifyContainer } from '../src/core/verify.js'
import { jsonRecords, makeKeys, parseBoxes, scratchDir, writeOpts, verifyBytes } from './helpers/container.js'
import { rebuild } from './helpers/forge.js'
t.test('dbg', async (t) => {
  const dir = await scratchDir()
  const keys = await makeKeys(join(dir, 'keys'))
  const plainPath = join(dir, 'plain.maif')
  await writeContainer(plainPath, jsonRecords(12), writeOpts(keys, { encryption: 'none', codec: 'brotli', framer: { blockRecords: 4 } }))
  const boxes = parseBoxes(readFileSync(plainPath))
  console.log(boxes.map(b => b.header.type + ':' + b.header.size).join(' '))
  const d = boxes[2]!
  const p = d.bytes.subarray(64)
  console.log('prefix', p.subarray(0, 32).toString('hex'), 'pub', p.subarray(32, 32 + p.readUInt32BE(4)).toString())
  const raw = boxes.map(b => Buffer.from(b.bytes))
  const pubLen = p.readUInt32BE(4)
  const pre = Buffer.from(p.subarray(0, 32)); pre.writeBigUInt64BE(26n, 24)
  const body = p.subarray(32 + pubLen, 32 + pubLen + 26)
  const pl = Buffer.concat([pre, p.subarray(32, 32 + pubLen), body])
  const { encodeHeader } = await import('../src/core/format.js')
  raw[2] = Buffer.concat([encodeHeader({ ...d.header, size: 64 + pl.length }), pl])
  const zlib = await import('node:zlib')
  try { const o = zlib.brotliDecompressSync(body, { maxOutputLength: 148 }); console.log('brotli ok', o.length, o.toString()) } catch (e) { console.log('brotli err', String(e)) }
  try { const o = zlib.brotliDecompressSync(body); console.log('brotli ok nolimit', o.length) } catch (e) { console.log('brotli err', String(e)) }
  const r = await verifyBytes(join(dir, 'x.maif'), await rebuild(raw, { signer: keys.keyring.signer }), { pinned: [keys.pub], onBlock: (b) => console.log('block', b.data.toString().slice(0, 60)) })
  console.log(JSON.stringify(r.errors), r.ok)
})
