// The JSON validator judges a chunk in WebAssembly memory, which grows to the chunk. Where it cannot grow (here a
// V8 limit of 8 pages, 512 KiB, stands in for WebAssembly's 4 GiB), the chunk fails with MAIF_ERR_RECORD_TOO_LARGE
// and its cause, the validator still judges what fits, and a pack of such input fails with that code, not a crash.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL, fileURLToPath } from 'node:url'
import { generateKeyring } from '../src/core/format/keyring.js'
import { CLI } from './helpers/cli.js'

const LIMIT = '--wasm-max-mem-pages=8'
const built = pathToFileURL(fileURLToPath(new URL('../dist/core/format/json-validate.js', import.meta.url))).href

t.test('a chunk larger than the memory can grow to: MAIF_ERR_RECORD_TOO_LARGE, and the next chunk is judged', async (t) => {
  const code = `
    import { judgeLines } from ${JSON.stringify(built)}
    let err
    try { judgeLines(Buffer.alloc(1 << 20, 0x31)) } catch (e) { err = { code: e.code, message: e.message, cause: String(e.cause) } }
    const after = judgeLines(Buffer.from('{"a":1}\\nnope\\n'))
    console.log(JSON.stringify({ err, count: after.count, bad: Array.from(after.bad.subarray(0, after.count)) }))`
  const r = spawnSync(process.execPath, [LIMIT, '--input-type=module', '-e', code], { encoding: 'utf8' })
  t.equal(r.status, 0, r.stderr)
  const out = JSON.parse(r.stdout) as { err?: { code: string; message: string; cause: string }; count: number; bad: number[] }
  t.equal(out.err?.code, 'MAIF_ERR_RECORD_TOO_LARGE')
  t.match(out.err?.message, /1048576 bytes of JSON at once.*lower maxLineLength/)
  t.match(out.err?.cause, /RangeError/, 'the cause is the memory that would not grow')
  t.same([out.count, out.bad], [2, [0, 1]], 'a chunk that fits is still judged')
})

t.test('pack of a chunk the validator cannot hold fails with that code', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'maif-wasm-limit-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const keys = join(dir, 'keys')
  await generateKeyring(keys)
  const input = join(dir, 'in.jsonl')
  writeFileSync(input, Array.from({ length: 4000 }, (_, i) => JSON.stringify({ i, pad: 'z'.repeat(200) })).join('\n') + '\n')
  const out = join(dir, 'out.maif')
  const r = spawnSync(process.execPath, [LIMIT, CLI, 'pack', input, '-o', out, '--keyring', keys], { encoding: 'utf8' })
  t.not(r.status, 0, 'the run fails')
  t.match(r.stderr, /MAIF_ERR_RECORD_TOO_LARGE/, 'and says why')
  t.notOk(existsSync(out) && /packed \d+ record/.test(r.stdout), 'nothing is reported packed')
})
