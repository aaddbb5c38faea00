// The file sink on its own: it reports records committed only after they are synced, in order, and refuses binary.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileSink } from '../../src/sinks/file.js'
import { RunMetrics } from '../../src/core/runtime/observability.js'
import type { SinkBuildContext, SinkInstance } from '../../src/core/runtime/types.js'

t.test('group commit: committing before the sync, committed after, cumulative', async (t) => {
  const dir = t.testdir()
  const events: string[] = []
  const ctx = {
    type: 'file', label: 'out', cwd: dir, logger: undefined, metrics: new RunMetrics('t'), keyringFlag: undefined, defaultKeyring: undefined,
    pool: () => { throw new Error('unused') }, deadLetter: () => undefined, stop: new AbortController().signal,
    retry: { maxAttempts: 1, initialMs: 0, maxMs: 0, multiplier: 1 }, batching: {}, outputs: [], blockStages: [], security: { requireEncryption: true }, pipeline: 't',
    acks: { committing: async (n: number) => { events.push(`committing ${n}`) }, committed: (n: number) => { events.push(`committed ${n}`) } },
  } satisfies SinkBuildContext
  const sink = await fileSink.build({ path: 'o.jsonl' }, ctx) as SinkInstance
  await sink.write({ kind: 'lines', format: 'json', data: Buffer.from('{"a":1}\n{"a":2}\n'), count: 2, ack: null })
  t.strictSame(events, [], 'nothing is committed before a sync')
  await sink.flush!()
  await sink.write({ kind: 'lines', format: 'json', data: Buffer.from('{"a":3}\n'), count: 1, ack: null })
  await sink.close()
  t.strictSame(events, ['committing 2', 'committed 2', 'committing 3', 'committed 3'])
  t.equal(readFileSync(join(dir, 'o.jsonl'), 'utf8'), '{"a":1}\n{"a":2}\n{"a":3}\n')
  await t.rejects(sink.write({ kind: 'binary', format: 'binary', pieces: [], count: 0, ack: null }), { code: 'MAIF_ERR_RECORD' })
})

t.test('appending to a file whose last line is torn starts a new line and cuts nothing', async (t) => {
  const dir = t.testdir({ 'o.jsonl': '{"a":1}\n{"a":2, "tor' })
  const ctx = {
    type: 'file', label: 'out', cwd: dir, logger: undefined, metrics: new RunMetrics('t'), keyringFlag: undefined, defaultKeyring: undefined,
    pool: () => { throw new Error('unused') }, deadLetter: () => undefined, stop: new AbortController().signal,
    retry: { maxAttempts: 1, initialMs: 0, maxMs: 0, multiplier: 1 }, batching: {}, outputs: [], blockStages: [], security: { requireEncryption: true }, pipeline: 't',
    acks: { committing: async () => undefined, committed: () => undefined },
  } satisfies SinkBuildContext
  const sink = await fileSink.build({ path: 'o.jsonl' }, ctx) as SinkInstance
  await sink.write({ kind: 'lines', format: 'json', data: Buffer.from('{"a":3}\n'), count: 1, ack: null })
  await sink.write({ kind: 'lines', format: 'json', data: Buffer.from('{"a":4}\n'), count: 1, ack: null })
  await sink.close()
  t.equal(readFileSync(join(dir, 'o.jsonl'), 'utf8'), '{"a":1}\n{"a":2, "tor\n{"a":3}\n{"a":4}\n')
})
