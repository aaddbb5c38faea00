// PutLogEvents planning against the documented limits (moto does not enforce them): 10,000 events,
// 1,048,576 bytes counting 26 bytes per event, 256 KiB per event, chronological order, a span under 24 hours;
// and which events a rejectedLogEventsInfo names.
import t, { type Test } from 'tap'
import { CWL_LIMITS, logEventBytes, planLogEvents, rejectedOutcomes } from '../../src/sinks/siem/cloudwatch-logs.js'

const HOUR = 3600_000
type It = { event: { timestamp: number; message: string }; id: number }
const item = (id: number, timestamp: number, bytes = 10): It => ({ event: { timestamp, message: 'm'.repeat(bytes) }, id })

/** Every request within every limit, and the events it holds in chronological order. */
function withinLimits(t: Test, reqs: It[][]): void {
  for (const [k, r] of reqs.entries()) {
    t.ok(r.length >= 1 && r.length <= CWL_LIMITS.maxEvents, `request ${k}: ${r.length} events`)
    const bytes = r.reduce((n, i) => n + Buffer.byteLength(i.event.message) + 26, 0)
    t.ok(bytes <= CWL_LIMITS.maxBatchBytes, `request ${k}: ${bytes} bytes with the 26-byte overhead`)
    for (let i = 1; i < r.length; i++) if (r[i]!.event.timestamp < r[i - 1]!.event.timestamp) t.fail(`request ${k} is out of order at ${i}`)
    t.ok(r[r.length - 1]!.event.timestamp - r[0]!.event.timestamp < CWL_LIMITS.maxSpanMs, `request ${k} spans less than 24 h`)
  }
}

t.test('the constants are the documented ones', async (t) => {
  t.strictSame({ ...CWL_LIMITS }, { maxEvents: 10_000, maxBatchBytes: 1_048_576, perEventOverhead: 26, maxEventBytes: 262_144, maxSpanMs: 86_400_000 })
  t.equal(logEventBytes({ timestamp: 0, message: 'é' }), 2 + 26, 'UTF-8 bytes, not characters')
})

t.test('count: 10,001 events make two requests, 10,000 and 1', async (t) => {
  const now = Date.now()
  const reqs = planLogEvents(Array.from({ length: 10_001 }, (_, i) => item(i, now)))
  t.strictSame(reqs.map((r) => r.length), [10_000, 1])
  withinLimits(t, reqs)
})

t.test('bytes: a request may reach exactly 1,048,576 bytes, one more byte starts the next', async (t) => {
  const now = Date.now()
  // 4 events of 262,118 message bytes + 26 = 262,144 each: exactly 1,048,576.
  const exact = Array.from({ length: 4 }, (_, i) => item(i, now, 262_144 - 26))
  t.strictSame(planLogEvents(exact).map((r) => r.length), [4], 'exactly at the limit fits in one')
  const over = [...exact.slice(0, 3), item(3, now, 262_144 - 26), item(4, now, 1)]
  const reqs = planLogEvents(over)
  t.strictSame(reqs.map((r) => r.map((i) => i.id)), [[0, 1, 2, 3], [4]])
  // Many mid-sized events: the 26-byte overhead decides where it cuts.
  const mid = Array.from({ length: 2000 }, (_, i) => item(i, now + i, 1000))
  const r2 = planLogEvents(mid)
  t.equal(r2[0]!.length, Math.floor(1_048_576 / 1026), 'the first request holds as many 1,026-byte events as fit')
  withinLimits(t, r2)
  t.equal(r2.flat().length, 2000, 'nothing lost')
})

t.test('order and span: shuffled input is sent sorted, equal times keep input order, and no request spans 24 h', async (t) => {
  const base = Date.now() - 48 * HOUR
  const items = [item(0, base + 30 * HOUR), item(1, base), item(2, base + 23 * HOUR), item(3, base + 24 * HOUR), item(4, base), item(5, base + 47 * HOUR), item(6, base + 48 * HOUR)]
  const reqs = planLogEvents(items)
  t.strictSame(reqs.map((r) => r.map((i) => i.id)), [[1, 4, 2], [3, 0, 5], [6]], 'cut before the event 24 h after the first of its request')
  withinLimits(t, reqs)
})

t.test('rejectedLogEventsInfo: too old, expired and too new events are refused with their reason; the rest accepted', async (t) => {
  const now = Date.now()
  const ev = [now - 20 * 24 * HOUR, now - 15 * 24 * HOUR, now - HOUR, now, now + 3 * HOUR].map((timestamp) => ({ timestamp, message: 'x' }))
  // moto reports the last too-old index (inclusive); the API reference says exclusive: the timestamp decides.
  const inclusive = rejectedOutcomes(ev, { tooOldLogEventEndIndex: 1, tooNewLogEventStartIndex: 4 }, now)
  t.strictSame(inclusive.map((o) => ('ok' in o ? 'ok' : 'fail')), ['fail', 'fail', 'ok', 'ok', 'fail'])
  const exclusive = rejectedOutcomes(ev, { tooOldLogEventEndIndex: 2 }, now)
  t.strictSame(exclusive.map((o) => ('ok' in o ? 'ok' : 'fail')), ['fail', 'fail', 'ok', 'ok', 'ok'], 'event 2 is recent, so an exclusive end index does not refuse it')
  const expired = rejectedOutcomes(ev, { expiredLogEventEndIndex: 3 }, now)
  t.strictSame(expired.map((o) => ('ok' in o ? 'ok' : 'fail')), ['fail', 'fail', 'fail', 'ok', 'ok'])
  t.match(inclusive[4], { fail: /too far in the future/ })
  t.match(inclusive[0], { fail: /too old/ })
})
