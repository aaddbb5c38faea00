// The transforms on their own: validate-json dead-letters what does not match and keeps the origin of what
// stays; the block stages turn their options (and the pipeline's batching defaults) into write-path stages.
import t from 'tap'
import { validateJson } from '../../src/transforms/validate-json.js'
import { frame, DEFAULT_BLOCK_MS } from '../../src/transforms/frame.js'
import { compress } from '../../src/transforms/compress.js'
import { chain } from '../../src/transforms/chain.js'
import { RunMetrics } from '../../src/core/runtime/observability.js'
import type { Batch, BuildContext, DeadLetterInput, LinesBatch, TransformInstance } from '../../src/core/runtime/types.js'

function context(dead: DeadLetterInput[], batching: BuildContext['batching'] = {}): BuildContext {
  return {
    type: 'x', label: 'x', cwd: '/', logger: undefined, metrics: new RunMetrics('t'), keyringFlag: undefined, defaultKeyring: undefined,
    pool: () => { throw new Error('unused') }, deadLetter: (d) => dead.push(d), stop: new AbortController().signal,
    retry: { maxAttempts: 2, initialMs: 0, maxMs: 0, multiplier: 1 }, batching, outputs: [],
  }
}

t.test('validate-json', async (t) => {
  const dead: DeadLetterInput[] = []
  const v = await validateJson.build({ schema: { type: 'object', required: ['id'] } }, context(dead)) as TransformInstance
  const input: Batch = { kind: 'lines', format: 'json', data: Buffer.from('{"id":1}\n{"no":2}\n{"id":3}\n'), count: 3, ack: 'tok' }
  const [out] = await v.transform(input) as [LinesBatch]
  t.equal(out.data.toString(), '{"id":1}\n{"id":3}\n')
  t.strictSame([...out.origin!], [0, 2], 'the kept records keep their source ordinals')
  t.equal(out.ack, 'tok')
  t.equal(dead.length, 1)
  t.equal(dead[0]!.attempts, 1, 'a schema violation is the record\'s fault: no retry')
  t.equal(String(dead[0]!.raw), '{"no":2}')
  const derived: Batch = { ...input, derived: true }
  t.strictSame(await v.transform(derived), [derived], 'records another transform added pass untouched')
})

t.test('block stages build write-path stages', async (t) => {
  t.strictSame(await frame.build({}, context([])), { type: 'frame', options: { blockMs: DEFAULT_BLOCK_MS } }, 'blocks close by time by default')
  t.strictSame(await frame.build({ blockType: 'XLOG' }, context([], { count: 10, bytes: 99, periodMs: 250 })), { type: 'frame', options: { blockRecords: 10, blockBytes: 99, blockMs: 250, type: 'XLOG' } }, 'batching supplies the defaults')
  t.strictSame(await compress.build({ codec: 'gzip', level: 4 }, context([])), { type: 'compress', codec: 'gzip', level: 4 })
  t.strictSame(await chain.build({ checkpointEvery: { ms: 200 } }, context([])), { type: 'chain', checkpointEvery: { ms: 200 } })
})
