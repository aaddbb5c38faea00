// The JSON validator runs from bytes embedded in src/core/format/wasm/json-validate.wasm.ts. They must be what
// its source, json-validate.as.ts, compiles to: a change to the source that was not rebuilt would otherwise go
// untested, since every other test runs the embedded bytes.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

t.test('the embedded validator is what its AssemblyScript source compiles to', async (t) => {
  const build = fileURLToPath(new URL('../src/core/format/wasm/build.mjs', import.meta.url))
  const r = spawnSync(process.execPath, [build, '--check'], { encoding: 'utf8' })
  t.equal(r.status, 0, `build.mjs --check: ${r.stdout}${r.stderr}`)
  t.match(r.stdout, /in step/)
})
