import t from 'tap'
import { WorkerPool, OrderedJobs } from '../src/core/workers/worker-pool.js'
import { validateLines } from '../src/core/workers/worker.js'
import { decompress } from '../src/core/format/codec.js'
import { MaifError } from '../src/core/errors.js'

t.test('worker threads compress blocks that decompress to the input', async (t) => {
  const pool = new WorkerPool(2)
  t.teardown(() => pool.close())
  const input = Buffer.from('{"a":1}\n'.repeat(10000))
  const res = await pool.run({ op: 'compress', codec: 'zstd', parts: [input.subarray(0, 5), input.subarray(5)] })
  t.equal(res.op, 'compress')
  if (res.op !== 'compress') return
  t.ok(res.body.byteLength < input.length / 10, 'zstd shrinks repetitive JSON')
  t.same(decompress(1, Buffer.from(res.body), input.length), input)
})

t.test('a failing job rejects with a MaifError and the pool keeps working', async (t) => {
  const pool = new WorkerPool(1)
  t.teardown(() => pool.close())
  await t.rejects(pool.run({ op: 'boxes', path: '/nonexistent/maif', maxBox: 1 << 20, boxes: [{ offset: 0, size: 10, head: new Uint8Array(0) }] }), { code: 'MAIF_ERR_IO' })
  const ok = await pool.run({ op: 'lines', data: Buffer.from('{}\n'), validateJson: true })
  t.equal(ok.op === 'lines' && ok.count, 1)
})

t.test('line validation drops bad lines, keeps the rest byte for byte, and numbers them', async (t) => {
  const data = Buffer.from('{"a":1}\n{bad\n\n{"b":2}\r\n[1]\nnot json\n')
  const r = validateLines(data, true)
  t.equal(r.lines, 6)
  t.equal(r.count, 3)
  t.same(r.rejects.map((x) => x.line), [2, 3, 6])
  t.equal(r.valid.toString(), '{"a":1}\n{"b":2}\r\n[1]\n')
  t.match(r.rejects[0]!.reason, /invalid JSON/)
  t.equal(r.rejects[1]!.reason, 'empty line')
  const text = validateLines(Buffer.from('x\ny\n'), false)
  t.equal(text.count, 2)
  t.equal(text.valid.toString(), 'x\ny\n')
})

t.test('ordered jobs return results in submission order with a bounded window', async (t) => {
  const jobs = new OrderedJobs<number>(2)
  const delay = (v: number, ms: number) => new Promise<number>((r) => setTimeout(() => r(v), ms))
  const out: number[] = []
  for (const [v, ms] of [[1, 30], [2, 1], [3, 10], [4, 0]] as const) {
    const done = await jobs.add(delay(v, ms))
    if (done !== undefined) out.push(done)
  }
  while (jobs.size) out.push((await jobs.drainOne())!)
  t.same(out, [1, 2, 3, 4])
  t.ok(new MaifError('MAIF_ERR_IO', 'x') instanceof Error)
})

t.test('a lazy pool starts its workers with the first job, and closes whether or not it started', async (t) => {
  const idle = new WorkerPool(2, { lazy: true })
  t.equal(idle.started, false)
  await idle.close()
  const pool = new WorkerPool(2, { lazy: true })
  t.teardown(() => pool.close())
  t.equal(pool.started, false, 'no worker before a job')
  const res = await pool.run({ op: 'lines', data: Buffer.from('{}\n[]\n'), validateJson: true })
  t.equal(pool.started, true)
  t.equal(res.op === 'lines' && res.count, 2, 'the first job ran')
})
