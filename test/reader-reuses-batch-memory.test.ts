// A file read into a container reuses the memory of its batches once the container has copied them into blocks,
// and only then: a batch that a record transform or a second output may still hold is never read into again.
import '../src/builtins.js'
import t, { type Test } from 'tap'
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import { z } from 'zod'
import { runPipeline } from '../src/core/runtime/engine.js'
import { defineSink, defineTransform, type ComponentSpec } from '../src/core/runtime/component.js'
import type { Batch, PipelineDefinition } from '../src/index.js'
import { freshKeyring, readContainer } from './helpers/engine.js'

/** The size of a read buffer (line-reader.ts: 64 KiB of room in front of a 1 MiB chunk). */
const READ_BUFFER = (64 << 10) + (1 << 20)
const MiB = 1 << 20

/** About `bytes` of JSON lines, each different, so that any overwritten byte shows in a comparison. */
function jsonLines(bytes: number): Buffer {
  const lines: string[] = []
  let n = 0
  for (let size = 0; size < bytes; n++) {
    const line = JSON.stringify({ i: n, agent: `agent-${n % 17}`, text: `record ${n} `.repeat(1 + (n % 23)) })
    lines.push(line)
    size += line.length + 1
  }
  return Buffer.from(lines.join('\n') + '\n')
}

/** Counts the buffers the line reader allocates while `run` runs. */
async function readBuffersAllocated(run: () => Promise<unknown>): Promise<number> {
  const original = Buffer.allocUnsafeSlow
  let n = 0
  Buffer.allocUnsafeSlow = (size: number): Buffer<ArrayBuffer> => {
    if (size === READ_BUFFER && new Error().stack!.includes('line-reader')) n++ // (block buffers have this size too)
    return original(size)
  }
  try {
    await run()
  } finally {
    Buffer.allocUnsafeSlow = original
  }
  return n
}

function pipeline(input: string, dir: string, keyring: string, extra: Partial<PipelineDefinition> = {}): PipelineDefinition {
  return {
    name: 'reuse',
    source: { type: 'file', path: input, format: 'jsonl' },
    transforms: [{ type: 'frame' }, { type: 'compress' }, { type: 'encrypt', keyring }, { type: 'chain' }, { type: 'sign' }],
    sink: { type: 'container', path: join(dir, 'out.maif') },
    ...extra,
  }
}

/** Components that keep a view of every batch's data, without copying it, and check it at the end. */
function holders(input: Buffer, seen: { transform?: Buffer[]; sink?: Buffer[] }): ComponentSpec[] {
  return [
    defineTransform({
      type: 'hold-views',
      description: 'passes batches on, keeping a view of each one\'s data',
      options: {},
      build: () => ({ transform: (b: Batch) => { if (b.kind === 'lines') (seen.transform ??= []).push(b.data); return [b] } }),
    }),
    defineSink({
      type: 'hold-views-sink',
      description: 'keeps a view of each batch\'s data until the end',
      options: { note: z.string().optional() },
      build: () => ({
        write: async (b: Batch) => { if (b.kind === 'lines') (seen.sink ??= []).push(b.data) },
        close: async () => {
          if (!Buffer.concat(seen.sink ?? []).equals(input)) throw new Error('a held batch changed under its holder')
        },
      }),
    }),
  ]
}

/** A test directory with a keyring and an input file of about `mib` MiB of JSON lines. */
async function setup(t: Test, mib: number): Promise<{ dir: string; keys: Awaited<ReturnType<typeof freshKeyring>>; input: Buffer; path: string }> {
  const dir = t.testdir()
  const keys = await freshKeyring(dir)
  const input = jsonLines(mib * MiB)
  const path = join(dir, 'in.jsonl')
  writeFileSync(path, input)
  return { dir, keys, input, path }
}

t.test('a file packed into a container is read into the memory of batches already copied into blocks', async (t) => {
  const { dir, keys, input, path } = await setup(t, 96)
  const chunks = Math.ceil(input.length / MiB)
  let report: Awaited<ReturnType<typeof runPipeline>> | undefined
  const allocated = await readBuffersAllocated(async () => { report = await runPipeline(pipeline(path, dir, keys.dir), { cwd: dir }) })
  t.equal(report!.delivered, report!.recordsIn, 'every record delivered')
  // The reader allocates the buffers in flight at once, and reads the rest of the input into buffers handed
  // back. In flight: a job per worker, one read ahead, the source's queue, the engine's streams and the
  // framer's input (16 batches), and the 4 spares kept: at most about 40. Seen: 4–6 on a quiet machine, 28 with
  // other tests beside it. Without reuse, one per read (97).
  t.ok(allocated <= chunks / 2, `read buffers allocated: ${allocated} for ${chunks} reads`)
  const back = await readContainer(join(dir, 'out.maif'), keys.keyring)
  t.ok(back.result.ok, 'the container verifies')
  t.ok(back.bytes.equals(input), 'it holds the input, byte for byte, in order')
})

t.test('with bad lines taken out, batches are new memory and the container still holds exactly the good ones', async (t) => {
  const dir = t.testdir()
  const keys = await freshKeyring(dir)
  const good = jsonLines(6 * MiB).toString('utf8').split('\n').slice(0, -1)
  const lines = good.map((l, i) => (i % 5000 === 17 ? [l, '{bad json'] : [l])).flat()
  const path = join(dir, 'in.jsonl')
  writeFileSync(path, lines.join('\n') + '\n')
  const report = await runPipeline({ ...pipeline(path, dir, keys.dir), deadLetter: { type: 'file', path: join(dir, 'dead.jsonl') } }, { cwd: dir })
  t.equal(report.deadLetters, lines.length - good.length, 'the bad lines are dead letters')
  t.equal(report.delivered + report.deadLetters, report.recordsIn, 'counts reconcile')
  const back = await readContainer(join(dir, 'out.maif'), keys.keyring)
  t.same(back.lines, good, 'the container holds every good line, in order')
})

t.test('a record transform may hold views of the batches: their memory is never reused', async (t) => {
  const { dir, keys, input, path } = await setup(t, 12)
  const seen: { transform?: Buffer[] } = {}
  const def = pipeline(path, dir, keys.dir)
  def.transforms = [{ type: 'hold-views' }, ...def.transforms!]
  const allocated = await readBuffersAllocated(() => runPipeline(def, { cwd: dir, components: holders(input, seen) }))
  t.ok(Buffer.concat(seen.transform ?? []).equals(input), 'every view the transform kept still holds what was read')
  t.ok(allocated >= Math.ceil(input.length / MiB), `a buffer per read: ${allocated}`)
  t.ok((await readContainer(join(dir, 'out.maif'), keys.keyring)).bytes.equals(input), 'the container holds the input')
})

t.test('a second output may hold views of the batches: their memory is never reused', async (t) => {
  const { dir, keys, input, path } = await setup(t, 12)
  const seen: { sink?: Buffer[] } = {}
  const { sink, ...def } = pipeline(path, dir, keys.dir)
  const full: PipelineDefinition = { ...def, sinks: { mode: 'all', outputs: [sink!, { type: 'hold-views-sink' }] } }
  // The holding sink compares what it kept with the input when it closes, and fails the run if it changed.
  const report = await runPipeline(full, { cwd: dir, components: holders(input, seen) })
  t.equal(report.delivered, report.recordsIn)
  t.ok(Buffer.concat(seen.sink ?? []).equals(input), 'every view the second output kept still holds what was read')
  t.ok((await readContainer(join(dir, 'out.maif'), keys.keyring)).bytes.equals(input), 'the container holds the input')
})

t.test('the framer hands a batch back only once all its records are copied, and once', async (t) => {
  const { BlockFramer } = await import('../src/core/container/write/framer.js')
  const released: string[] = []
  const framer = new BlockFramer({ blockRecords: 3 })
  const blocks: Buffer[] = []
  framer.on('data', (b: { data: Buffer }) => { blocks.push(b.data) })
  // Released memory is read into again at once: here, overwritten. No block may show it.
  const batch = (name: string, text: string) => {
    const data = Buffer.from(text)
    return { kind: 'lines' as const, data, count: text.split('\n').length - 1, releaseData: () => { released.push(name); data.fill(0x58) } }
  }
  framer.write(batch('a', '1\n2\n'))
  framer.write(batch('b', '3\n4\n5\n6\n7\n'))
  t.same(released, ['a'], 'a is copied with the first block; b still has a record in the open block')
  framer.write(batch('c', '8\n9\n'))
  t.same(released, ['a', 'b', 'c'], 'the block of 7, 8 and 9 is full: b and c are copied')
  framer.write(batch('d', '10\n'))
  t.same(released, ['a', 'b', 'c'], 'd waits in the open block')
  framer.end()
  await new Promise((resolve) => framer.on('end', resolve))
  t.same(released, ['a', 'b', 'c', 'd'], 'each batch handed back once, in order')
  t.equal(Buffer.concat(blocks).toString(), '1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n', 'the blocks hold the records as written')
})
