// A worker gets its next job before it answers the one it is running, so that it never waits for the main thread
// between two jobs; it still runs them one at a time, in the order sent, and each answer reaches its own job.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { join } from 'node:path'
import { JOBS_PER_WORKER, WorkerPool } from '../src/core/workers/worker-pool.js'
import { decompress } from '../src/core/format/codec.js'

t.test('while a worker is held in a job, the next one is already sent to it, and runs once the first ends', async (t) => {
  const dir = t.testdir()
  const fifo = join(dir, 'held')
  execFileSync('mkfifo', [fifo]) // opening it to read blocks the worker until a writer comes
  const pool = new WorkerPool(1)
  t.teardown(() => pool.close())
  await pool.run({ op: 'lines', data: Buffer.from('{}\n'), validateJson: true }) // started
  const held = pool.run({ op: 'boxes', path: fifo, maxBox: 1 << 20, boxes: [{ offset: 0, size: 4, head: new Uint8Array(0) }] })
  const next = pool.run({ op: 'lines', data: Buffer.from('{"a":1}\nbad\n'), validateJson: true })
  const third = pool.run({ op: 'lines', data: Buffer.from('[]\n'), validateJson: true })
  t.equal(JOBS_PER_WORKER, 2)
  t.equal(pool.inFlight, 2, 'the held job and the next one are with the worker; the third waits in the pool')
  closeSync(openSync(fifo, 'w')) // lets the held job go on: a FIFO holds no box, so it fails
  const h = await held
  t.ok(h.op === 'boxes' && h.failed !== undefined && h.leaves.length === 0, `the held job ended, failed at its box (${h.op === 'boxes' ? h.failed?.code : h.op})`)
  const a = await next
  t.ok(a.op === 'lines' && a.count === 1 && a.rejects.length === 1, 'the job sent ahead ran after it, and got its own answer')
  const b = await third
  t.ok(b.op === 'lines' && b.count === 1, 'and the one that waited in the pool')
  t.equal(pool.inFlight, 0)
})

t.test('a job that waits for a module to load is finished before the next starts, and answers come in order', async (t) => {
  const pool = new WorkerPool(1)
  t.teardown(() => pool.close())
  const input = Buffer.from('{"a":1}\n'.repeat(5000))
  const order: string[] = []
  // The worker's first compress job loads the codec (an await) before it runs; the lines job behind it must wait.
  const jobs = [
    pool.run({ op: 'compress', codec: 'zstd', parts: [input] }).then((r) => { order.push('compress'); return r }),
    pool.run({ op: 'lines', data: Buffer.from('{}\n{}\n'), validateJson: true }).then((r) => { order.push('lines'); return r }),
    pool.run({ op: 'compress', codec: 'zstd', parts: [input.subarray(0, 80)] }).then((r) => { order.push('compress small'); return r }),
  ]
  const [c, l, s] = await Promise.all(jobs)
  t.same(order, ['compress', 'lines', 'compress small'], 'answered in the order sent')
  t.ok(c!.op === 'compress' && decompress(1, Buffer.from(c!.body), input.length).equals(input), 'the first compress job got its own body')
  t.ok(l!.op === 'lines' && l!.count === 2)
  t.ok(s!.op === 'compress' && decompress(1, Buffer.from(s!.body), 80).equals(input.subarray(0, 80)), 'the last got its own')
})

t.test('two workers share the queue: each gets up to two jobs, the least busy first', async (t) => {
  const pool = new WorkerPool(2)
  t.teardown(() => pool.close())
  const n = 40
  const results = await Promise.all(Array.from({ length: n }, (_, i) => pool.run({ op: 'lines', data: Buffer.from(`{"i":${i}}\n`.repeat(i + 1)), validateJson: true })))
  t.same(results.map((r) => r.op === 'lines' && r.count), Array.from({ length: n }, (_, i) => i + 1), 'every job got its own answer')
  t.equal(pool.inFlight, 0)
})

t.test('a worker that dies fails both jobs sent to it, and the pool goes on with a new one', async (t) => {
  const pool = new WorkerPool(1)
  t.teardown(() => pool.close())
  // Two million bad lines: each rejection is kept with its reason, past the worker's 128 MB heap limit.
  const killer = pool.run({ op: 'lines', data: Buffer.from('x\n'.repeat(2_000_000)), validateJson: true })
  const behind = pool.run({ op: 'lines', data: Buffer.from('{}\n'), validateJson: true })
  t.equal(pool.inFlight, 2, 'both were sent to the one worker')
  await t.rejects(killer, { code: 'MAIF_ERR_IO', message: /a worker thread failed/ }, 'the job that killed it fails, and says why')
  await t.rejects(behind, { code: 'MAIF_ERR_IO', message: /a worker thread failed/ }, 'so does the one sent ahead to it: nothing waits for ever')
  const after = await pool.run({ op: 'lines', data: Buffer.from('{}\n{}\n'), validateJson: true })
  t.ok(after.op === 'lines' && after.count === 2, 'a new worker takes the next job')
  t.equal(pool.inFlight, 0)
})
