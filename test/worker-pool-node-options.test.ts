// A pool works whatever Node options the process was started with.
// - `node --input-type=module -e '…'` (or a script on stdin): workers inherit the process's options, and a worker
//   whose entry is a file refuses --input-type. Every job failed with "a worker thread failed: --input-type can
//   only be used with string input".
// - V8 and per-process options (--max-old-space-size, --expose-gc, --trace-gc, --title): the first fix passed the
//   process's options to each worker explicitly, minus --input-type, and Node rejects those in a worker's
//   execArgv. Every pooled command then failed under, say, NODE_OPTIONS=--max-old-space-size=4096.
import t from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const INDEX = fileURLToPath(new URL('../dist/index.js', import.meta.url))

function runScript(args: string[], script: string, extraEnv: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const { NODE_OPTIONS: _n, ...env } = process.env // tap's own hooks stay out of the child
    const child = spawn(process.execPath, [...args], { env: { ...env, ...extraEnv }, stdio: ['pipe', 'pipe', 'pipe'] })
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

t.test('a pool runs its jobs under V8 and per-process options, on the command line and in NODE_OPTIONS', async (t) => {
  const flags = ['--max-old-space-size=512', '--expose-gc', '--trace-gc', '--title=maif-test', '--stack-size=900']
  for (const args of [[...flags, '--input-type=module'], ['--max-old-space-size=512', '--input-type=module', '-e', SCRIPT]]) {
    const r = await runScript(args, args.includes('-e') ? '' : SCRIPT)
    t.equal(r.code, 0, `node ${args.join(' ').slice(0, 80)} exits 0: ${r.out.slice(-400)}`)
    t.equal(r.out.split('\n').filter((l) => !/^\[\d+:/.test(l)).join('\n').trim(), WANT, 'every job ran in a worker (trace-gc lines aside)')
  }
  for (const opts of ['--max-old-space-size=512 --expose-gc', '--input-type=module --max-old-space-size=512']) {
    const r = await runScript(['--input-type=module'], SCRIPT, { NODE_OPTIONS: opts })
    t.equal(r.code, 0, `NODE_OPTIONS=${opts} exits 0: ${r.out.slice(-400)}`)
    t.equal(r.out.trim(), WANT, 'every job ran in a worker')
  }
})
