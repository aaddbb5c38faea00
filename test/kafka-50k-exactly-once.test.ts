// 50,000 agent events (~300 bytes each) across 4 partitions through the agent-logging pipeline's stages
// (frame → compress → encrypt → chain → sign, one container per partition): each partition's container holds
// exactly the bytes produced to it, in offset order, each event once. A second run then reads the whole topic
// again from the earliest offset (a new group, as after resetting the group's offsets): every record it reads
// is already inside its partition container's last checkpoint, so it is skipped, and no `--dedupe` is needed.
import t from 'tap'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { verifyContainer } from '../src/core/container/verify.js'
import { runPipeline } from '../src/index.js'
import '../src/builtins.js'
import { freshKeyring } from './helpers/engine.js'
import { consumerTimings, offsets, produce, startKafka, uniqueName } from './helpers/kafka.js'

const TOTAL = 50_000
const PARTITIONS = 4

/** One agent event of about 300 bytes, compact JSON (what the source keeps byte for byte). */
function event(i: number): string {
  const e = { i, agent: `agent-${i % 17}`, trace: `trace-${(i * 7919).toString(16)}`, type: i % 5 === 0 ? 'tool_call' : 'llm_end', ts: 1_790_000_000_000 + i, text: '' }
  const base = JSON.stringify(e).length
  e.text = 'lorem ipsum dolor sit amet '.repeat(12).slice(0, 300 - base)
  return JSON.stringify(e)
}

t.test('50,000 events across 4 partitions: in the containers exactly once, byte for byte', async (t) => {
  const topic = uniqueName('agent-events')
  const group = uniqueName('loggers')
  const broker = await startKafka(t, { [topic]: PARTITIONS })
  const dir = t.testdir()
  const { dir: keys, keyring } = await freshKeyring(dir)
  const produced: string[][] = Array.from({ length: PARTITIONS }, () => [])
  for (let i = 0; i < TOTAL; i += 5000) {
    const wave = Array.from({ length: 5000 }, (_, k) => ({ value: event(i + k), partition: (i + k) % PARTITIONS }))
    for (const m of wave) produced[m.partition]!.push(m.value)
    await produce(broker, topic, wave)
  }
  t.equal((produced[0]![0] ?? '').length, 300, 'events are 300 bytes')

  const allCommitted = async (group: string): Promise<boolean> => {
    const o = await offsets(broker, group, topic)
    return [...o.high].every(([p, h]) => o.committed.get(p) === h)
  }
  // A run stops once its group has committed every partition to its end.
  const run = async (group: string): Promise<{ recordsIn: number; delivered: number }> => {
    const stop = new AbortController()
    const poll = setInterval(() => { void allCommitted(group).then((done) => { if (done) stop.abort() }, () => undefined) }, 500)
    const started = Date.now()
    const report = await runPipeline({
      name: 'agent-logging',
      source: { type: 'kafka', brokers: broker.bootstrap, topics: [topic], groupId: group, fromBeginning: true, format: 'jsonl', consumer: consumerTimings },
      transforms: [
        { type: 'frame', blockRecords: 1000, blockBytes: 1_048_576, blockMs: 200 },
        { type: 'compress', codec: 'zstd', level: 3 },
        { type: 'encrypt', keyring: keys },
        { type: 'chain', checkpointEvery: { blocks: 16, ms: 200 } },
        { type: 'sign' },
      ],
      sink: { type: 'container', path: 'out/{topic}-{partition}.maif' },
    }, { cwd: dir, stop: stop.signal })
    clearInterval(poll)
    t.ok(report.reconciled, `a run of ${report.recordsIn} records in ${Date.now() - started} ms: reconciled`)
    return report
  }
  const first = await run(group)
  t.equal(first.recordsIn, TOTAL, 'the first run read every event')
  const again = await run(uniqueName('reset'))
  t.equal(again.recordsIn, TOTAL, 'the second run read every event again')
  t.equal(again.delivered, TOTAL, 'and settled each (skipped: already durable)')

  const files = readdirSync(join(dir, 'out')).filter((f) => f.endsWith('.maif')).sort()
  t.same(files, Array.from({ length: PARTITIONS }, (_, p) => `${topic}-${p}.maif`), 'one container per partition')
  for (const [p, f] of files.entries()) {
    const parts: Buffer[] = []
    const r = await verifyContainer(join(dir, 'out', f), { keyProvider: keyring, pinned: [keyring.signer.publicKey], onBlock: (b) => { parts.push(Buffer.from(b.data)) } })
    t.ok(r.ok, `${f} verifies`)
    const held = Buffer.concat(parts)
    const want = Buffer.from(produced[p]!.map((v) => `${v}\n`).join(''))
    // One comparison of the whole partition: the same bytes, the same order, each event once.
    t.ok(held.equals(want), `${f}: ${produced[p]!.length} events, byte for byte, each once (${held.length} bytes, ${want.length} produced)`)
  }
})
