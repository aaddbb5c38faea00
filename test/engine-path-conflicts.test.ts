// Configured paths that are the same file are refused before anything is opened, by `maif validate` (78) and
// `maif run` (2, MAIF_ERR_PATH_CONFLICT): a cursor that is the input (which a run used to replace with a
// 139-byte cursor), a container that is the dead-letter file, and the same collision spelt through a symlink.
import t, { type Test } from 'tap'
import { readFileSync, symlinkSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { maif } from './helpers/cli.js'
import { freshKeyring } from './helpers/engine.js'

const INPUT = Array.from({ length: 50 }, (_, i) => JSON.stringify({ i })).join('\n') + '\n'

async function setup(t: Test, body: (dir: string) => string): Promise<{ dir: string; file: string; keys: string }> {
  const dir = t.testdir()
  const { dir: keys } = await freshKeyring(dir)
  writeFileSync(join(dir, 'in.jsonl'), INPUT)
  const file = join(dir, 'p.yaml')
  writeFileSync(file, body(dir))
  return { dir, file, keys }
}

const pipeline = (source: string, sink: string, extra = ''): string =>
  `source: ${source}\ntransforms: [ { type: frame }, { type: compress }, { type: encrypt } ]\nsink: ${sink}\n${extra}`

for (const [name, body, what] of [
  ['a cursor that is the input', (d: string) => pipeline(`{ type: file, path: ${d}/in.jsonl, format: jsonl, cursor: ${d}/in.jsonl }`, `{ type: container, path: ${d}/out.maif }`), /source input .*in\.jsonl.* and source .*in\.jsonl.* are the same file/],
  ['a container that is the dead-letter file', (d: string) => pipeline(`{ type: file, path: ${d}/in.jsonl, format: jsonl }`, `{ type: container, path: ${d}/out.maif }`, `deadLetter: { type: file, path: ${d}/out.maif }\n`), /output container .*out\.maif.* and dead letters .*out\.maif.* are the same file/],
  ['an output that is the input through a symlink', (d: string) => { symlinkSync(join(d, 'in.jsonl'), join(d, 'link.jsonl')); return pipeline(`{ type: file, path: ${d}/in.jsonl, format: jsonl }`, `{ type: file, path: ${d}/link.jsonl }`) }, /are the same file/],
] as const) {
  t.test(name, async (t) => {
    const { dir, file, keys } = await setup(t, body)
    const v = await maif(['validate', file, '--keyring', keys])
    t.equal(v.code, 78, v.stdout)
    t.match(v.stdout, what)
    const r = await maif(['run', file, '--keyring', keys, '--no-progress', '--log-level', 'error'])
    t.equal(r.code, 2, r.stderr)
    t.match(r.stderr, /MAIF_ERR_PATH_CONFLICT/)
    t.equal(readFileSync(join(dir, 'in.jsonl'), 'utf8'), INPUT, 'the input is untouched')
    t.notOk(existsSync(join(dir, 'out.maif')), 'nothing was created')
  })
}

t.test('distinct paths pass', async (t) => {
  const { file, keys } = await setup(t, (d) => pipeline(`{ type: file, path: ${d}/in.jsonl, format: jsonl, cursor: ${d}/c.cursor }`, `{ type: container, path: ${d}/out.maif }`))
  const v = await maif(['validate', file, '--keyring', keys])
  t.equal(v.code, 0, v.stdout)
})
