import '../src/builtins.js'
import t from 'tap'
import { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  RunMetrics,
  createLogger,
  formatProgressLine,
  startProgress,
  startPrometheus,
} from '../src/core/runtime/observability.js'

/** A writable that keeps every chunk pino writes, one JSON document per line. */
function capture(): { stream: Writable; lines: () => Record<string, unknown>[]; text: () => string } {
  const chunks: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString())
      cb()
    },
  })
  const text = (): string => chunks.join('')
  const lines = (): Record<string, unknown>[] =>
    text()
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
  return { stream, lines, text }
}

/** A stand-in for a terminal: just enough of a WriteStream for cli-progress. */
function fakeTTY(columns = 120): { stream: NodeJS.WriteStream; output: () => string } {
  let out = ''
  const stream = {
    isTTY: true,
    columns,
    write(s: string | Uint8Array, cb?: unknown): boolean {
      out += typeof s === 'string' ? s : Buffer.from(s).toString()
      if (typeof cb === 'function') process.nextTick(cb as () => void)
      return true
    },
  }
  return { stream: stream as unknown as NodeJS.WriteStream, output: () => out }
}

function clock(start: number): { now: () => number; advance: (ms: number) => void } {
  let t = start
  return { now: () => t, advance: (ms) => (t += ms) }
}

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await sleep(5)
  }
}

t.test('snapshot rates cover the whole run and the ETA comes from bytes', async (t) => {
  const c = clock(1_000)
  const m = new RunMetrics('p1', {}, { now: c.now })
  let s = m.snapshot()
  t.equal(s.elapsedMs, 0)
  t.same(s.rate, { recordsPerSec: 0, bytesPerSec: 0 }, 'no time elapsed: no rate, no division by zero')
  t.equal(s.etaMs, null)
  t.equal(s.startedAt, new Date(1_000).toISOString())

  m.source.records = 500
  m.source.bytes = 2048
  m.source.files = 2
  c.advance(2_000)
  s = m.snapshot()
  t.equal(s.elapsedMs, 2_000)
  t.same(s.rate, { recordsPerSec: 250, bytesPerSec: 1024 })
  t.equal(s.etaMs, null, 'unknown total size: no ETA')

  m.source.totalBytes = 10_240
  t.equal(m.snapshot().etaMs, 8_000, '8192 bytes left at 1024 B/s')
  m.source.bytes = 20_000
  t.equal(m.snapshot().etaMs, 0, 'more bytes than announced never gives a negative ETA')

  m.source.bytes = 0
  t.equal(m.snapshot().etaMs, null, 'no throughput yet: no ETA rather than infinity')
})

t.test('in-flight records, stages and snapshots are independent copies', async (t) => {
  const m = new RunMetrics('p1')
  m.source.records = 10
  m.delivered = 5
  m.deadLetters = 2
  m.dropped = 1
  t.equal(m.snapshot().inFlight, 2)
  m.delivered = 20
  t.equal(m.snapshot().inFlight, 0, 'never negative')

  const a = m.stage('transform', 'redact-pii')
  const b = m.stage('sink')
  t.equal(m.stage('transform', 'redact-pii'), a, 'get-or-create returns the same counters')
  t.equal(b.label, 'sink', 'label defaults to the stage name')
  t.not(m.stage('transform'), a, 'a different label is a different stage')
  t.same(
    m.snapshot().stages.map((x) => `${x.stage}/${x.label}`),
    ['transform/redact-pii', 'sink/sink', 'transform/transform'],
    'creation order is kept',
  )

  m.observeLatency(a, 10)
  m.observeLatency(a, 30)
  m.observeLatency(a, -5)
  m.observeLatency(a, Number.NaN)
  t.equal(a.latencyMsTotal, 40)
  t.equal(a.latencyCount, 2, 'negative and non-finite samples are dropped')

  const snap = m.snapshot()
  a.recordsIn = 99
  m.source.records = 99
  t.equal(snap.stages[0]!.recordsIn, 0)
  t.equal(snap.source.records, 10)

  t.throws(() => new RunMetrics('p', { stage: 'x' }), { code: 'MAIF_ERR_INVALID_OPTION' })
  t.throws(() => new RunMetrics('p', { 'bad-name': 'x' }), { code: 'MAIF_ERR_INVALID_OPTION' })
})

t.test('logger redacts key material and payloads', async (t) => {
  const out = capture()
  const log = createLogger({ destination: out.stream, name: 'test' })
  log.info({ key: 'secret', session: { dataKey: 'dk-bytes', id: 's1' }, record: { ssn: 'ssn-078-05-1120' }, file: 'a.jsonl' }, 'hello')
  const [line] = out.lines()
  t.ok(line)
  t.equal(line!.key, '[Redacted]')
  t.same(line!.session, { dataKey: '[Redacted]', id: 's1' })
  t.equal(line!.record, '[Redacted]')
  t.equal(line!.file, 'a.jsonl', 'other fields are kept')
  t.equal(line!.name, 'test')
  // The values are distinctive strings: a bare number such as 123 turned up inside the record's timestamp.
  t.notMatch(out.text(), /secret|dk-bytes|ssn-078-05-1120/)

  const quiet = capture()
  createLogger({ destination: quiet.stream, level: 'warn' }).info('dropped')
  t.equal(quiet.text(), '', 'level filters lower records')
})

t.test('non-TTY progress writes parseable progress log lines', async (t) => {
  const out = capture()
  const m = new RunMetrics('p1')
  const s = m.stage('sink')
  m.source.records = 3
  m.source.bytes = 300
  const p = startProgress(m, { logger: createLogger({ destination: out.stream }), intervalMs: 10, tty: false })
  await until(() => out.lines().length >= 1)
  const first = out.lines()[0]!
  t.equal(first.msg, 'progress')
  t.equal(first.level, 30, 'info level')
  t.equal(first.final, false)
  t.same(first.source, { records: 3, bytes: 300, files: 0, totalBytes: null })

  m.source.records = 7
  m.delivered = 6
  s.recordsIn = 7
  p.stop()
  p.stop()
  const lines = out.lines()
  const last = lines[lines.length - 1]!
  t.equal(last.final, true, 'stop() renders the final state')
  t.equal(lines.filter((l) => l.final === true).length, 1, 'a second stop() does nothing')
  t.equal((last.source as { records: number }).records, 7)
  t.equal(last.delivered, 6)
  t.equal(last.inFlight, 1)
  t.equal((last.stages as { recordsIn: number }[])[0]!.recordsIn, 7)
  t.equal(last.pipeline, 'p1')
  const n = lines.length
  await sleep(40)
  t.equal(out.lines().length, n, 'no more lines after stop()')
})

t.test('TTY progress renders a bar with records, bytes and ETA', async (t) => {
  const tty = fakeTTY()
  const logged = capture()
  const c = clock(0)
  const m = new RunMetrics('p1', {}, { now: c.now })
  m.source.totalBytes = 4096
  // No `tty` option: the stream's isTTY decides.
  const p = startProgress(m, { stream: tty.stream, logger: createLogger({ destination: logged.stream }), intervalMs: 10 })
  m.source.records = 1234
  m.source.bytes = 1024
  c.advance(1000)
  p.stop()
  const out = tty.output()
  t.match(out, /1,234 records/)
  t.match(out, /25%/)
  t.match(out, /1\.0 KiB \/ 4\.0 KiB/)
  t.match(out, /ETA 0:03/, '3072 bytes left at 1024 B/s')
  t.ok(out.endsWith('\n'), 'the final state is left on its own line')
  t.equal(logged.text(), '', 'no log lines in TTY mode')
})

t.test('progress line without a known size has no bar or ETA', async (t) => {
  const m = new RunMetrics('p1', {}, { now: clock(0).now })
  m.source.records = 5
  m.source.bytes = 10
  m.deadLetters = 1
  const line = formatProgressLine(m.snapshot())
  t.notMatch(line, /\[|%|ETA/)
  t.match(line, /^5 records \| 10 B \| 0 rec\/s 0 B\/s \| 1 dead-lettered$/)
})

t.test('progress line fits the terminal by shrinking, then dropping the bar', async (t) => {
  const c = clock(0)
  const m = new RunMetrics('p1', {}, { now: c.now })
  m.source.totalBytes = 1000
  m.source.bytes = 500
  m.source.records = 50
  c.advance(1000)
  const wide = formatProgressLine(m.snapshot(), 200)
  t.match(wide, /^\[█{15}░{15}\] 50% \| 50 records \| 500 B \/ 1000 B \| 50 rec\/s 500 B\/s \| ETA 0:01$/)
  const mid = formatProgressLine(m.snapshot(), 80)
  t.ok(mid.length <= 80)
  t.match(mid, /^\[█+░+\] 50% .*ETA 0:01$/)
  t.ok((mid.match(/[█░]/g) ?? []).length < 30, 'bar shrank')
  const narrow = formatProgressLine(m.snapshot(), 40)
  t.equal(narrow.length, 40)
  t.match(narrow, /^50% \| 50 records/, 'bar dropped, counters kept')
})

interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}
function parseExposition(text: string): Sample[] {
  const out: Sample[] = []
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!m) continue
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) labels[l[1]!] = l[2]!
    out.push({ name: m[1]!, labels, value: Number(m[3]) })
  }
  return out
}
function value(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value
}

t.test('Prometheus endpoint exposes the counters on each scrape', async (t) => {
  const m = new RunMetrics('orders', { env: 'test' })
  const srv = await startPrometheus(m, { port: 0 })
  // A second server in the same process: a private registry per run means no name clash.
  const other = await startPrometheus(new RunMetrics('other'))
  t.teardown(() => other.close())
  t.ok(srv.port > 0)
  t.equal(srv.url, `http://127.0.0.1:${srv.port}/metrics`)

  const before = await fetch(srv.url)
  t.equal(before.status, 200)
  t.match(before.headers.get('content-type') ?? '', /text\/plain/)
  t.equal(value(parseExposition(await before.text()), 'maif_records_delivered_total', { pipeline: 'orders' }), 0)

  const sink = m.stage('sink', 's3-out')
  sink.recordsIn = 7
  sink.recordsOut = 6
  sink.bytesIn = 700
  sink.bytesOut = 650
  sink.errors = 1
  sink.retries = 3
  m.observeLatency(sink, 100)
  m.observeLatency(sink, 300)
  m.delivered = 6
  m.deadLetters = 1
  m.source.records = 7
  m.source.bytes = 800

  const text = await (await fetch(srv.url)).text()
  const samples = parseExposition(text)
  const base = { pipeline: 'orders', stage: 'sink', label: 's3-out', env: 'test' }
  t.match(text, /# TYPE maif_stage_records_total counter/)
  t.equal(value(samples, 'maif_stage_records_total', { ...base, direction: 'in' }), 7)
  t.equal(value(samples, 'maif_stage_records_total', { ...base, direction: 'out' }), 6)
  t.equal(value(samples, 'maif_stage_bytes_total', { ...base, direction: 'in' }), 700)
  t.equal(value(samples, 'maif_stage_bytes_total', { ...base, direction: 'out' }), 650)
  t.equal(value(samples, 'maif_stage_errors_total', base), 1)
  t.equal(value(samples, 'maif_stage_retries_total', base), 3)
  t.equal(value(samples, 'maif_stage_latency_seconds', base), 0.2)
  t.equal(value(samples, 'maif_records_delivered_total', { pipeline: 'orders', env: 'test' }), 6)
  t.equal(value(samples, 'maif_dead_letters_total', { pipeline: 'orders' }), 1)
  t.equal(value(samples, 'maif_source_records_total', { pipeline: 'orders' }), 7)
  t.equal(value(samples, 'maif_source_bytes_total', { pipeline: 'orders' }), 800)
  t.notMatch(text, /process_cpu|nodejs_/, 'no default process metrics leak in')

  // A later scrape mirrors the counters rather than adding to the previous scrape's values.
  sink.recordsIn = 9
  const again = parseExposition(await (await fetch(srv.url)).text())
  t.equal(value(again, 'maif_stage_records_total', { ...base, direction: 'in' }), 9)

  t.equal((await fetch(`http://127.0.0.1:${srv.port}/other`)).status, 404)

  await srv.close()
  await t.rejects(fetch(srv.url), 'the port is closed after close()')
})

t.test('listening on a taken port fails with a MaifError', async (t) => {
  const a = await startPrometheus(new RunMetrics('a'))
  t.teardown(() => a.close())
  await t.rejects(startPrometheus(new RunMetrics('b'), { port: a.port }), { code: 'MAIF_ERR_IO' })
})
