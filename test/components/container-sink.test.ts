// The container sink on its own: it builds the write path from the block stages it is given (adding chain and
// sign), reports the write-ahead before each checkpoint and the commit after it, frames records of another
// block type in their own blocks, and refuses a signing algorithm the keyring's key does not have.
import '../../src/builtins.js'
import t from 'tap'
import { join } from 'node:path'
import { containerSink } from '../../src/sinks/container/index.js'
import { frame } from '../../src/transforms/frame.js'
import { compress } from '../../src/transforms/compress.js'
import { encrypt } from '../../src/transforms/encrypt.js'
import { sign } from '../../src/transforms/sign.js'
import { RunMetrics } from '../../src/core/runtime/observability.js'
import { WorkerPool } from '../../src/core/workers/worker-pool.js'
import type { BlockStageEntry, BuildContext, SinkBuildContext, SinkInstance } from '../../src/core/runtime/types.js'
import { freshKeyring, readContainer } from '../helpers/engine.js'

t.test('write path, acknowledgements and block types', async (t) => {
  const dir = t.testdir()
  const keys = await freshKeyring(dir)
  const pool = new WorkerPool(1)
  t.teardown(() => pool.close())
  const events: string[] = []
  const base = {
    cwd: dir, logger: undefined, metrics: new RunMetrics('t'), keyringFlag: undefined, defaultKeyring: keys.dir, pool: () => pool,
    deadLetter: () => undefined, stop: new AbortController().signal, retry: { maxAttempts: 1, initialMs: 0, maxMs: 0, multiplier: 1 }, batching: {}, outputs: [],
  }
  const stage = async (spec: typeof frame, options: Record<string, unknown>, index: number): Promise<BlockStageEntry> =>
    ({ type: spec.type, label: spec.type, index, stage: await spec.build(options, { ...base, type: spec.type, label: spec.type } as BuildContext) })
  const blockStages = [await stage(frame, { blockRecords: 100, blockMs: 0 }, 0), await stage(compress, {}, 1), await stage(encrypt, {}, 2)]
  const ctx: SinkBuildContext = {
    ...base, type: 'container', label: 'c', blockStages, security: { requireEncryption: true }, pipeline: 't',
    acks: {
      committing: async (n, ref) => { events.push(`committing ${n} @${ref?.treeSize}`) },
      committed: (n) => { events.push(`committed ${n}`) },
    },
  }
  const path = join(dir, 'c.maif')
  const sink = await containerSink.build({ path }, ctx) as SinkInstance
  await sink.write({ kind: 'lines', format: 'json', data: Buffer.from('{"a":1}\n{"a":2}\n'), count: 2, ack: 1 })
  await sink.write({ kind: 'lines', format: 'json', data: Buffer.from('{"t":1}\n'), count: 1, ack: 1, derived: true, blockType: 'XTAG' })
  await sink.close()
  // Every commit is announced (write-ahead, with the tree size) before it is reported durable, and the last covers all.
  t.match(events[0], /^committing \d+ @\d+$/, 'the write-ahead comes first, with the tree size')
  for (const [i, e] of events.entries()) {
    const n = /^committed (\d+)$/.exec(e)?.[1]
    if (n === undefined) continue
    t.ok(events.slice(0, i).some((x) => x.startsWith(`committing ${n} @`)), `${e}: announced before it was durable`)
  }
  t.equal(events.at(-1), 'committed 3')
  const back = await readContainer(path, keys.keyring)
  t.equal(back.result.ok, true)
  t.strictSame(back.blocks.map((b) => b.type), ['JSON', 'XTAG'], 'another block type closes the open block')
})

t.test('sign.alg must be the keyring key\'s algorithm', async (t) => {
  const dir = t.testdir()
  const keys = await freshKeyring(dir)
  const base = {
    cwd: dir, logger: undefined, metrics: new RunMetrics('t'), keyringFlag: undefined, defaultKeyring: keys.dir, pool: () => { throw new Error('unused') },
    deadLetter: () => undefined, stop: new AbortController().signal, retry: { maxAttempts: 1, initialMs: 0, maxMs: 0, multiplier: 1 }, batching: {}, outputs: [],
  }
  const signStage = await sign.build({ alg: 'ed25519' }, { ...base, type: 'sign', label: 'sign' } as BuildContext)
  const ctx: SinkBuildContext = {
    ...base, type: 'container', label: 'c', blockStages: [{ type: 'sign', label: 'sign', index: 0, stage: signStage }], security: { requireEncryption: false }, pipeline: 't',
    acks: { committing: async () => undefined, committed: () => undefined },
  }
  await t.rejects(containerSink.build({ path: join(dir, 'x.maif') }, ctx) as Promise<SinkInstance>, { code: 'MAIF_ERR_INVALID_OPTION', message: /sign.alg is 'ed25519', but the signing key .* is ecdsa-p256/ })
})
