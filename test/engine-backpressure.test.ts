// Backpressure end to end: when the consumer of a sink stops reading, `maif run` stops reading its input
// (a real child process; how much it has read is taken from /proc/PID/io), and still delivers every byte.
import t from 'tap'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { openSync, writeSync, closeSync, writeFileSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { CLI } from './helpers/cli.js'

function makeInput(path: string, bytes: number): string {
  const line = Buffer.from(JSON.stringify({ event: 'tool_call', text: 'y'.repeat(1000) }) + '\n')
  const chunk = Buffer.concat(Array.from({ length: 1024 }, () => line))
  const fd = openSync(path, 'w')
  const h = createHash('sha256')
  for (let n = 0; n < bytes; n += chunk.length) { writeSync(fd, chunk); h.update(chunk) }
  closeSync(fd)
  return h.digest('hex')
}

function bytesRead(pid: number): number {
  const m = /rchar: (\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))
  return m ? Number(m[1]) : NaN
}

/** Runs the pipeline; the consumer reads nothing for `pauseMs`, then everything. */
async function run(pipeline: string, pauseMs: number): Promise<{ readWhilePaused: number; sha256: string; bytes: number; code: number | null }> {
  const child = spawn(process.execPath, [CLI, 'run', pipeline, '--no-progress', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const closed = new Promise<number | null>((res) => child.on('close', res))
  child.stdout.pause()
  await sleep(pauseMs)
  const readWhilePaused = bytesRead(child.pid!)
  const h = createHash('sha256')
  let bytes = 0
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    h.update(chunk)
    bytes += chunk.length
  }
  const code = await closed
  if (code !== 0) throw new Error(`maif run failed: ${stderr}`)
  return { readWhilePaused, sha256: h.digest('hex'), bytes, code }
}

t.test('a sink whose reader stops holds the whole pipeline back, and loses nothing', async (t) => {
  const dir = t.testdir()
  const input = join(dir, 'big.jsonl')
  const size = 192 << 20
  const sha = makeInput(input, size)
  const pipeline = join(dir, 'p.yaml')
  writeFileSync(pipeline, `name: bp\nsource: { type: file, path: ${input}, format: jsonl }\nsink: { type: stdout }\n`)
  const r = await run(pipeline, 3000)
  t.equal(r.code, 0)
  t.ok(Number.isFinite(r.readWhilePaused), 'the child process reports what it has read')
  t.comment(`read ${(r.readWhilePaused / 2 ** 20).toFixed(1)} MiB of a ${size / 2 ** 20} MiB input while its output was not read`)
  t.ok(r.readWhilePaused < 64 * 2 ** 20, 'reading stopped within a few buffers of the stalled output')
  t.equal(r.bytes, statSync(input).size, 'the output has exactly the input bytes')
  t.equal(r.sha256, sha, 'every byte arrives, in order, once the reader resumes')
})
