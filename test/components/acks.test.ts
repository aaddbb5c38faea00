// The acknowledgement tracker on its own: tokens are acknowledged in source order once every envelope is durable
// in every output; a partly durable batch is reported in source records through `origin`; fallback replays.
import t from 'tap'
import { AckTracker } from '../../src/core/runtime/acks.js'
import type { Batch } from '../../src/core/runtime/types.js'

const lines = (count: number, extra: Partial<Batch> = {}): Batch => ({ kind: 'lines', format: 'json', data: Buffer.alloc(0), count, ack: null, ...extra } as Batch)

t.test('all outputs, in order, with partial progress', async (t) => {
  const tr = new AckTracker(2)
  tr.register('a', [lines(3)], [0, 1])
  tr.register('b', [lines(2, { origin: Uint32Array.from([1, 3]) })], [0, 1]) // records 0 and 2 of b were dropped
  t.strictSame(tr.committed(0, 5), { done: [] }, 'one output is not enough')
  t.strictSame(tr.ifCommitted(1, 4), { done: ['a'], partial: { token: 'b', records: 3 } }, 'b: source records 0..2 are durable (1 kept, 0 and 2 dropped)')
  t.strictSame(tr.committed(1, 3), { done: ['a'], partial: { token: 'b', records: 1 } }, 'b: none of its kept records, but its dropped record 0 is settled')
  t.strictSame(tr.committed(1, 5), { done: ['b'] })
  t.equal(tr.pending, 0)
})

t.test('a token with derived envelopes waits for them; a token with none is done in turn', async (t) => {
  const tr = new AckTracker(1)
  tr.register('a', [lines(2), lines(1, { derived: true, origin: Uint32Array.from([1]) })], [0])
  tr.register('empty', [], [0])
  t.strictSame(tr.committed(0, 2), { done: [], partial: { token: 'a', records: 1 } }, 'the derived record of source record 1 is not durable yet')
  t.strictSame(tr.committed(0, 3), { done: ['a', 'empty'] })
})

t.test('fallback: what the failed output had not made durable moves to the next', async (t) => {
  const tr = new AckTracker(2, true)
  const b1 = lines(2)
  const b2 = lines(2)
  tr.register('x', [b1], [0])
  tr.register('y', [b2], [0])
  tr.committed(0, 2)
  t.strictSame(tr.reassign(0, 1), [b2], 'only the unconfirmed envelope is replayed')
  t.strictSame(tr.committed(1, 2), { done: ['y'] })
})
