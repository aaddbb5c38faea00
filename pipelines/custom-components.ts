// A pipeline that brings its own components: a source, a transform that emits records of another block
// type beside the ones it reads, and a sink. Each is one `define*` call with a strict options schema; the
// pipeline registers them by passing them to definePipeline. Run it with `maif run pipelines/custom-components.ts`.
//
// - `agent-events` (source) generates `count` agent events, in batches of `batch`, each batch with its own
//   acknowledgement token; `prepare`/`commit` record what the outputs made durable (here: in memory, and in
//   the report it logs).
// - `tag-tools` (transform) passes each batch on and adds, beside it, a batch of `XTAG` records: one per event
//   that used a tool, derived from it (its `origin` says which).
// - `tally` (sink) counts records per block type and writes the tally as JSON when it closes.
import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { definePipeline, defineSink, defineSource, defineTransform, z, type AckProgress, type Batch } from 'maif'

export const agentEvents = defineSource({
  type: 'agent-events',
  description: 'generated agent events (a demo source)',
  options: {
    count: z.int().min(0).describe('events to generate'),
    batch: z.int().min(1).describe('events per batch').optional(),
    ackLog: z.string().min(1).describe('where to write what was acknowledged (JSON)').optional(),
  },
  build(o, ctx) {
    const per = o.batch ?? 100
    const acked: number[] = []
    let prepared = 0
    let records = 0
    return {
      async *batches(): AsyncGenerator<Batch> {
        for (let start = 0; start < o.count && !ctx.stop.aborted; start += per) {
          const n = Math.min(per, o.count - start)
          const lines = Array.from({ length: n }, (_, i) => JSON.stringify({ seq: start + i, agent: `agent-${(start + i) % 7}`, tool: (start + i) % 3 === 0 ? 'search' : null }))
          records += n
          yield { kind: 'lines', format: 'json', data: Buffer.from(lines.join('\n') + '\n'), count: n, ack: { start, n } }
        }
      },
      prepare(p: AckProgress) { prepared = Math.max(prepared, p.done.length) },
      commit(p: AckProgress) {
        for (const t of p.done as Array<{ start: number; n: number }>) acked.push(t.start)
        if (o.ackLog) writeFileSync(resolve(ctx.cwd, o.ackLog), JSON.stringify({ acknowledgedBatches: acked.length, firstStarts: acked.slice(0, 3), prepared }))
      },
      stats: () => ({ records, bytes: 0 }),
    }
  },
})

export const tagTools = defineTransform({
  type: 'tag-tools',
  description: 'add an XTAG record beside every event that used a tool',
  options: { blockType: z.string().length(4).describe('block type of the tags').optional() },
  build(o) {
    return {
      transform(b: Batch): Batch[] {
        if (b.kind !== 'lines' || b.derived) return [b]
        const tags: string[] = []
        const origin: number[] = []
        let start = 0
        for (let i = 0, nl = b.data.indexOf(0x0a); nl !== -1; i++, start = nl + 1, nl = b.data.indexOf(0x0a, start)) {
          const ev = JSON.parse(b.data.toString('utf8', start, nl)) as { seq: number; tool: string | null }
          if (ev.tool) { tags.push(JSON.stringify({ seq: ev.seq, tag: `tool:${ev.tool}` })); origin.push(b.origin ? b.origin[i]! : i) }
        }
        if (tags.length === 0) return [b]
        const extra: Batch = { kind: 'lines', format: 'json', data: Buffer.from(tags.join('\n') + '\n'), count: tags.length, ack: b.ack, origin: Uint32Array.from(origin), derived: true, blockType: o.blockType ?? 'XTAG' }
        return [b, extra]
      },
    }
  },
})

export const tally = defineSink({
  type: 'tally',
  description: 'count records per block type and write the tally as JSON',
  options: { path: z.string().min(1).describe('JSON file for the tally') },
  build(o, ctx) {
    const counts: Record<string, number> = {}
    return {
      async write(b: Batch) { const t = b.blockType ?? b.format; counts[t] = (counts[t] ?? 0) + b.count },
      async close() { writeFileSync(resolve(ctx.cwd, o.path), JSON.stringify(counts)) },
      describe: () => ({ path: resolve(ctx.cwd, o.path) }),
    }
  },
})

export default definePipeline({
  name: 'custom-components',
  source: { type: 'agent-events', count: 1000, batch: 100, ackLog: '${MAIF_OUT:out/custom}.acks.json' },
  transforms: [
    { type: 'tag-tools' },
    { type: 'frame', blockRecords: 256 },
    { type: 'compress', codec: 'zstd' },
    { type: 'encrypt', keyring: '${MAIF_KEYRING:.maif-keys}' },
    { type: 'chain' },
    { type: 'sign' },
  ],
  sinks: {
    mode: 'all',
    outputs: [
      { type: 'container', path: '${MAIF_OUT:out/custom}.maif' },
      { type: 'tally', path: '${MAIF_OUT:out/custom}.tally.json' },
    ],
  },
}, { components: [agentEvents, tagTools, tally] })
