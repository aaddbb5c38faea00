// At-least-once across a crash: a Kafka worker (a real `maif run` child) is killed with SIGKILL in the middle
// of a stream that is still being produced. At the kill, every offset the group has committed is inside the
// container's verified content (no commit ahead of a durable checkpoint). A restarted worker finishes the
// topic: every event is in the container exactly once (skip on resume), and the group's offsets reach the
// high watermarks.
import t from 'tap'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyring } from '../src/core/format/keyring.js'
import { maif } from './helpers/cli.js'
import { committedButMissing, containerRecords, offsets, produce, startKafka, startWorker, uniqueName, waitFor, type KafkaBroker } from './helpers/kafka.js'
import { repoPath } from './helpers/engine.js'

const PIPELINE = repoPath('test/fixtures/kafka/worker.yaml')
const TOTAL = 4000
const WAVE = 200

const sum = (m: Map<number, number>): number => [...m.values()].reduce((a, b) => a + Math.max(0, b), 0)

t.test('SIGKILL mid-stream and a restart: nothing lost, no offset committed ahead of the container', async (t) => {
  const topic = uniqueName('agent-events')
  const group = uniqueName('workers')
  const broker: KafkaBroker = await startKafka(t, { [topic]: 4 })
  const dir = t.testdir()
  const keys = join(dir, 'keys')
  await generateKeyring(keys)
  const out = join(dir, 'out', 'events.maif')
  const env = { ...broker.env, TOPIC: topic, GROUP: group, KEYS: keys, OUT: out }

  // Events keep arriving while the first worker runs, so that the kill lands mid-stream.
  let sent = 0
  const producing = (async () => {
    while (sent < TOTAL) {
      const wave = Array.from({ length: WAVE }, (_, k) => ({ key: `agent-${(sent + k) % 13}`, value: JSON.stringify({ i: sent + k, text: 'x'.repeat((sent + k) % 300) }) }))
      await produce(broker, topic, wave)
      sent += WAVE
      await new Promise((r) => setTimeout(r, 30))
    }
  })()

  const first = startWorker(t, PIPELINE, env)
  await waitFor('a first commit of the group', async () => {
    if (first.child.exitCode !== null) throw new Error(`the worker exited early: ${(await first.exited).stderr}`)
    return sum((await offsets(broker, group, topic)).committed) > 0 && sent >= TOTAL / 3
  })
  first.child.kill('SIGKILL')
  const killed = await first.exited
  t.equal(killed.signal, 'SIGKILL')
  const atKill = await offsets(broker, group, topic)

  const rec = await maif(['recover', out, '--json'], { env: { NODE_OPTIONS: '' } })
  t.equal(rec.code, 0, 'recover', { stderr: rec.stderr })
  const before = await containerRecords(out, keys)
  t.same(committedButMissing(before, atKill.committed), [], `every committed offset (${sum(atKill.committed)}) is in the container (${before.length} records) at the kill`)

  await producing
  const second = startWorker(t, PIPELINE, env)
  await waitFor('the restarted worker to commit the whole topic', async () => {
    if (second.child.exitCode !== null) throw new Error(`the worker exited early: ${(await second.exited).stderr}`)
    // The worker holds the container lock once it runs (its signal handlers are in place by then): the first
    // worker may already have committed everything, and a SIGTERM during start-up would kill it unhandled.
    if (!existsSync(`${out}.lock`)) return false
    const o = await offsets(broker, group, topic)
    return [...o.high].every(([p, h]) => o.committed.get(p) === h)
  }, 90_000)
  second.child.kill('SIGTERM')
  const done = await second.exited
  t.equal(done.code, 0, 'a graceful stop exits 0', { stderr: done.stderr })

  const all = await containerRecords(out, keys)
  const final = await offsets(broker, group, topic)
  t.same(committedButMissing(all, final.committed), [], 'every committed offset is in the container')
  const events = new Set(all.map((r) => r.i))
  t.equal(events.size, TOTAL, 'every produced event is in the container')
  t.equal(Math.min(...events), 0)
  t.equal(Math.max(...events), TOTAL - 1)
  // The restart reads again what was read but not committed; the container skips what its last checkpoint
  // holds (blocks record their offsets), so no record is written twice (one container for all partitions).
  t.equal(all.length, TOTAL, 'no record is in the container twice')
  t.equal(new Set(all.map((r) => `${r.partition}:${r.offset}`)).size, all.length, 'each offset once')
})
