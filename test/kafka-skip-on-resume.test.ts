// Skip on resume: a Kafka worker (a real `maif run` child) that commits its offsets rarely (commitIntervalMs)
// is killed with SIGKILL once its per-partition containers hold far more than the group has committed. The
// restarted worker reads those offsets again from Kafka, but each container's blocks record the offset range
// they hold (public metadata `offsets`), so it skips what the container's last checkpoint already holds:
// every offset is in its partition's container exactly once, without `maif cat --dedupe`.
import t from 'tap'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import { maif } from './helpers/cli.js'
import { committedButMissing, containerRecords, offsets, produce, startWorker, waitFor, workerSetup, type KafkaRecordRef } from './helpers/kafka.js'
import { repoPath } from './helpers/engine.js'

const PIPELINE = repoPath('test/fixtures/kafka/resume-worker.yaml')
const PARTITIONS = 4
const FIRST = 2000
const MORE = 1000

// Every partition gets events (explicit partitions: a handful of keys may hash to fewer than four).
const events = (from: number, n: number): Array<{ key: string; partition: number; value: string }> =>
  Array.from({ length: n }, (_, k) => ({ key: `agent-${(from + k) % 7}`, partition: (from + k) % PARTITIONS, value: JSON.stringify({ i: from + k, text: 'y'.repeat((from + k) % 200) }) }))

t.test('a worker killed after a checkpoint but before its offset commit: the restart skips what the containers hold', async (t) => {
  const { topic, group, broker, keys, outDir, env } = await workerSetup(t, PARTITIONS)
  const containers = (): string[] => (existsSync(outDir) ? readdirSync(outDir).filter((f) => f.endsWith('.maif')).sort().map((f) => join(outDir, f)) : [])
  await produce(broker, topic, events(0, FIRST))

  // Offsets are committed once (the first durable batch), then not for ten minutes.
  const first = startWorker(t, PIPELINE, { ...env, COMMIT_MS: '600000' })
  await waitFor('the first commit', async () => {
    if (first.child.exitCode !== null) throw new Error(`the worker exited early: ${(await first.exited).stderr}`)
    return [...(await offsets(broker, group, topic)).committed.values()].some((c) => c > 0)
  })
  // The worker has read everything when its containers stop growing (checkpoints every 100 ms).
  let sizes = ''
  let stableSince = Date.now()
  await waitFor('the containers to stop growing', () => {
    const now = containers().map((f) => `${f}:${statSync(f).size}`).join(',')
    if (now !== sizes) { sizes = now; stableSince = Date.now() }
    return containers().length === PARTITIONS && Date.now() - stableSince > 1500
  })
  first.child.kill('SIGKILL')
  t.equal((await first.exited).signal, 'SIGKILL')
  const atKill = await offsets(broker, group, topic)

  const before: KafkaRecordRef[] = []
  for (const f of containers()) {
    const rec = await maif(['recover', f, '--json'], { env: { NODE_OPTIONS: '' } })
    t.equal(rec.code, 0, `recover ${basename(f)}`, { stderr: rec.stderr })
    before.push(...(await containerRecords(f, keys)))
  }
  const committed = [...atKill.committed.values()].reduce((a, b) => a + Math.max(0, b), 0)
  t.same(committedButMissing(before, atKill.committed), [], 'no offset was committed ahead of the containers at the kill')
  t.ok(before.length > committed, `the containers hold more (${before.length}) than the group committed (${committed}): a restart reads those again`)

  await produce(broker, topic, events(FIRST, MORE))
  const second = startWorker(t, PIPELINE, { ...env, COMMIT_MS: '0' })
  await waitFor('the restarted worker to commit the whole topic', async () => {
    if (second.child.exitCode !== null) throw new Error(`the worker exited early: ${(await second.exited).stderr}`)
    if (!containers().some((f) => existsSync(`${f}.lock`))) return false
    const o = await offsets(broker, group, topic)
    return [...o.high].every(([p, h]) => o.committed.get(p) === h)
  }, 90_000, () => second.stderrTail())
  second.child.kill('SIGTERM')
  const done = await second.exited
  t.equal(done.code, 0, 'a graceful stop exits 0', { stderr: done.stderr })
  const report = JSON.parse(done.stdout) as { recordsIn: number; delivered: number; reconciled: boolean }
  t.ok(report.reconciled, 'the restarted run reconciles (skipped records count as delivered: they are durable)')
  t.ok(report.recordsIn > MORE, `the restarted worker read again what was not committed (${report.recordsIn} records)`)

  const all: KafkaRecordRef[] = []
  for (const [p, f] of containers().entries()) {
    const recs = await containerRecords(f, keys)
    t.ok(recs.every((r) => r.partition === p), `${basename(f)} holds only partition ${p}`)
    all.push(...recs)
  }
  const coordinates = all.map((r) => `${r.partition}:${r.offset}`)
  t.equal(new Set(coordinates).size, all.length, 'no offset is in a container twice (no dedupe needed)')
  t.equal(all.length, FIRST + MORE, 'every event is in the containers exactly once')
  t.equal(new Set(all.map((r) => r.i)).size, FIRST + MORE)
})
