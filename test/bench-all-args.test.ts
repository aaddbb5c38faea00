// bench/all.mjs (what `npm run bench` runs) hands each bench the flags it takes: --quick to run, vector-search
// and hsc; --vectors N to vector-search only; and refuses flags it does not know. Checked with --list, which
// prints the commands without running them (benches are measured by running them, never in tests).
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { REPO } from './helpers/engine.js'

const all = (...args: string[]): { code: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, [join(REPO, 'bench/all.mjs'), ...args], { encoding: 'utf8' })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

t.test('every bench runs, in order, with no flags by default', async (t) => {
  const r = all('--list')
  t.equal(r.code, 0, r.stderr)
  t.same(r.stdout.trim().split('\n'), ['bench/run.mjs', 'bench/s3.mjs', 'bench/vector-search.mjs', 'bench/hsc.mjs', 'bench/kafka.mjs'])
})

t.test('--quick and --vectors go to the benches that take them', async (t) => {
  const r = all('--list', '--quick', '--vectors', '1e6')
  t.equal(r.code, 0, r.stderr)
  t.same(r.stdout.trim().split('\n'), ['bench/run.mjs --quick', 'bench/s3.mjs', 'bench/vector-search.mjs --quick --vectors 1000000', 'bench/hsc.mjs --quick', 'bench/kafka.mjs --quick'])
})

t.test('bad arguments are refused before anything runs', async (t) => {
  const bad = all('--list', '--vectors', 'many')
  t.equal(bad.code, 2)
  t.match(bad.stderr, /--vectors takes a count/)
  t.equal(bad.stdout, '')
  const unknown = all('--list', '--fast')
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, /unknown --fast/)
})
