// maif recover at the edges: a writer killed before its first checkpoint, and files that are not MAIF.
import t from 'tap'
import { join } from 'node:path'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { generateKeyring, loadKeyring } from '../src/core/format/keyring.js'
import { writeContainer } from '../src/core/container/writer.js'
import { recoverContainer } from '../src/core/container/recover.js'
import { verifyContainer } from '../src/core/container/verify.js'

t.test('a container torn before its first checkpoint is cut to empty, and can be written again', async (t) => {
  const dir = t.testdir()
  await generateKeyring(join(dir, 'k'))
  const kr = await loadKeyring(join(dir, 'k'))
  const full = join(dir, 'full.maif')
  await writeContainer(full, [{ a: 1 }], { keyProvider: kr, signer: kr.signer })
  const torn = join(dir, 'torn.maif')
  writeFileSync(torn, readFileSync(full).subarray(0, 150)) // the file header and part of the session box
  const r = await recoverContainer(torn)
  t.equal(r.keptBytes, 0)
  t.equal(r.droppedBytes, 150)
  t.equal(statSync(torn).size, 0)
  t.match(readFileSync(`${torn}.recovery.jsonl`, 'utf8'), /"droppedBytes":150/)
  await writeContainer(torn, [{ b: 2 }], { keyProvider: kr, signer: kr.signer })
  t.equal((await verifyContainer(torn, { pinned: [kr.signer.publicKey] })).ok, true, 'the emptied file takes a new container')
})

t.test('recover refuses a file that is not a MAIF container and leaves it alone', async (t) => {
  const dir = t.testdir()
  const other = join(dir, 'notes.txt')
  writeFileSync(other, 'these are not the boxes you are looking for\n')
  await t.rejects(recoverContainer(other), { code: 'MAIF_ERR_TORN', message: /not a MAIF container/ })
  t.equal(readFileSync(other, 'utf8'), 'these are not the boxes you are looking for\n')
  const empty = join(dir, 'empty.maif')
  writeFileSync(empty, '')
  t.equal((await recoverContainer(empty)).droppedBytes, 0, 'an empty file has nothing to recover')
})
