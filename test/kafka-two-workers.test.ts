// Scale-out: two Kafka workers (real `maif run` children) in one group split the partitions of a topic, each
// partition into its own container ({topic}-{partition}.maif), so they never write the same file at once.
// When one leaves (SIGTERM), the other takes its partitions over, appends to their containers and finishes:
// every event is in the container of its partition exactly once (what is read again after a rebalance is
// skipped where the container holds it), and every committed offset is in a container.
import t from 'tap'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { committedButMissing, containerRecords, offsets, produce, startWorker, waitFor, workerSetup, type KafkaBroker, type KafkaRecordRef } from './helpers/kafka.js'
import { repoPath } from './helpers/engine.js'

const PIPELINE = repoPath('test/fixtures/kafka/partitioned-worker.yaml')
const PARTITIONS = 4

async function produceRange(broker: KafkaBroker, topic: string, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i += 100) {
    await produce(broker, topic, Array.from({ length: Math.min(100, to - i) }, (_, k) => ({ key: `agent-${(i + k) % 11}`, value: JSON.stringify({ i: i + k }) })))
    await new Promise((r) => setTimeout(r, 20))
  }
}

async function allCommitted(broker: KafkaBroker, group: string, topic: string, total: number): Promise<boolean> {
  const o = await offsets(broker, group, topic)
  const high = [...o.high.values()].reduce((a, b) => a + b, 0)
  return high === total && [...o.high].every(([p, h]) => o.committed.get(p) === h)
}

/** The pids holding container locks in `dir` (FILE.maif.lock holds its writer's pid). */
function lockHolders(dir: string): number[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir).filter((f) => f.endsWith('.maif.lock')).flatMap((f) => {
    try {
      return [(JSON.parse(readFileSync(join(dir, f), 'utf8')) as { pid: number }).pid]
    } catch {
      return [] // being written or removed
    }
  })
}

t.test('two workers split the partitions into per-partition containers; one leaves, the other finishes', async (t) => {
  const { topic, group, broker, keys, outDir, env } = await workerSetup(t, PARTITIONS)
  const a = startWorker(t, PIPELINE, { ...env, WORKER: 'a' })
  const workers = [a]
  const alive = async (): Promise<void> => {
    for (const w of workers) if (w.child.exitCode !== null && w.child.signalCode === null) throw new Error(`a worker exited early: ${(await w.exited).stderr}`)
  }
  // The second worker joins a group that is already consuming (adding a worker), which makes the group rebalance.
  await produceRange(broker, topic, 0, 300)
  await waitFor('the first worker to commit', async () => { await alive(); return [...(await offsets(broker, group, topic)).committed.values()].some((c) => c > 0) })
  const b = startWorker(t, PIPELINE, { ...env, WORKER: 'b' })
  workers.push(b)
  // Events keep coming until the second worker writes a partition's container (its pid in the container lock).
  let total = 300
  await waitFor('the second worker to take partitions', async () => {
    await alive()
    if (total < 3000) { await produceRange(broker, topic, total, total + 50); total += 50 }
    return lockHolders(outDir).includes(b.child.pid!)
  }, 90_000)
  const logs = (): string => workers.map((w, k) => `worker ${k}: ${w.stderrTail()}`).join('\n')
  await waitFor('both workers to commit what was produced', async () => { await alive(); return allCommitted(broker, group, topic, total) }, 90_000, logs)

  workers.pop()
  b.child.kill('SIGTERM')
  const bDone = await b.exited
  t.equal(bDone.code, 0, 'the leaving worker exits 0', { stderr: bDone.stderr })
  await produceRange(broker, topic, total, total + 1000)
  total += 1000
  await waitFor('the remaining worker to take over and commit everything', async () => { await alive(); return allCommitted(broker, group, topic, total) }, 90_000, logs)
  a.child.kill('SIGTERM')
  const aDone = await a.exited
  t.equal(aDone.code, 0, 'the remaining worker exits 0', { stderr: aDone.stderr })

  const ra = JSON.parse(aDone.stdout) as { delivered: number; reconciled: boolean }
  const rb = JSON.parse(bDone.stdout) as { delivered: number; reconciled: boolean }
  t.ok(ra.delivered > 0 && rb.delivered > 0, `both workers took part (a: ${ra.delivered}, b: ${rb.delivered})`)
  t.ok(ra.reconciled && rb.reconciled)

  const files = readdirSync(outDir).filter((f) => f.endsWith('.maif')).sort()
  t.same(files, Array.from({ length: PARTITIONS }, (_, p) => `${topic}-${p}.maif`), 'one container per partition')
  const all: KafkaRecordRef[] = []
  for (const [p, f] of files.entries()) {
    const recs = await containerRecords(join(outDir, f), keys)
    t.ok(recs.every((r) => r.partition === p), `${f} holds only partition ${p}`)
    all.push(...recs)
  }
  t.equal(new Set(all.map((r) => r.i)).size, total, `every event (${total}) is in a container`)
  t.same(committedButMissing(all, (await offsets(broker, group, topic)).committed), [], 'every committed offset is in a container')
  // Offsets read again after the rebalances are skipped where a container's last checkpoint holds them.
  t.equal(new Set(all.map((r) => `${r.partition}:${r.offset}`)).size, all.length, 'no offset is in a container twice')
  t.equal(all.length, total, 'every event once')
})
