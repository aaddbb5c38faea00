// A pool works in a script run as `node --input-type=module -e '…'` (or fed on stdin). Workers inherit the
// process's Node options, and Node refuses to start a worker with --input-type: every job failed with "a worker
// thread failed: --input-type can only be used with string input". The options a worker gets leave it out.
import t from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { workerExecArgv } from '../src/core/workers/worker-pool.js'

const INDEX = fileURLToPath(new URL('../dist/index.js', import.meta.url))

t.test('workerExecArgv drops --input-type in both spellings and keeps the rest', async (t) => {
  t.strictSame(workerExecArgv(['--input-type=module', '--max-old-space-size=512']), ['--max-old-space-size=512'])
  t.strictSame(workerExecArgv(['--enable-source-maps', '--input-type', 'commonjs', '--no-warnings']), ['--enable-source-maps', '--no-warnings'])
  t.strictSame(workerExecArgv([]), [])
})

function runScript(args: string[], script: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const { NODE_OPTIONS: _n, ...env } = process.env // tap's own hooks stay out of the child
    const child = spawn(process.execPath, [...args], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => { out += d.toString() })
    child.stderr.on('data', (d: Buffer) => { out += d.toString() })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, out }))
    child.stdin.end(script)
  })
}

const SCRIPT = `
const { WorkerPool } = await import(${JSON.stringify(INDEX)})
const pool = new WorkerPool(2)
const res = await Promise.all([1, 2, 3].map((i) => pool.run({ op: 'lines', data: Buffer.from('{"i":' + i + '}\\nnot json\\n'), validateJson: true })))
console.log(JSON.stringify(res.map((r) => r.op === 'lines' ? Buffer.from(r.valid).toString() : r.op)))
await pool.close()
`
const WANT = JSON.stringify([1, 2, 3].map((i) => `{"i":${i}}\n`))

t.test('a pool runs its jobs under node --input-type=module, from -e and from stdin', async (t) => {
  for (const args of [['--input-type=module', '-e', SCRIPT], ['--input-type=module'], ['--input-type', 'module']]) {
    const r = await runScript(args, args.includes('-e') ? '' : SCRIPT)
    t.equal(r.code, 0, `node ${args[0]} ${args[1] === '-e' ? '-e' : args[1] ?? ''} exits 0: ${r.out}`)
    t.equal(r.out.trim(), WANT, 'every job ran in a worker and validated its lines')
  }
})
