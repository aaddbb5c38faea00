#!/usr/bin/env node
// `node bench/kafka.mjs [--quick] [--json]`: one Kafka worker (the kafka source → frame → compress → encrypt →
// chain → sign → one container per partition, in process, from dist/) against librdkafka's mock cluster (the
// C fixture the tests use, test/fixtures/kafka/mock-broker.c, built with gcc; needs librdkafka-dev).
//   - throughput: N events of 400 bytes are produced first (not timed); the worker reads them from the
//     beginning. Timed from the first record entering the pipeline to the moment the containers report all
//     N durable (the stop flushes and checkpoints at once, so no checkpoint interval is waited out).
//     Group join time is reported apart.
//   - latency: with the worker running on an empty one-partition topic, events are produced in waves of
//     WAVE every 20 ms; each event's latency runs from just before its send to the container commit that
//     makes it durable (the sink's cumulative count passing it). p50/p99, for two settings: the shipped
//     pipeline's (blockMs 500, checkpoint every 1000 ms) and a low-latency one (blockMs 20, every 50 ms).
// The mock keeps at most 5 MiB or 100,000 messages per partition, so N is split over enough partitions.
// Results go to bench/results/kafka-<iso>.json. It runs on the shared 2-core machine: loopback figures.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const quick = process.argv.includes('--quick');
const asJson = process.argv.includes('--json');
const EVENT_BYTES = 400;
const PARTITIONS = quick ? 4 : 8;
const PER_PARTITION = 12_000; // 4.8 MB of 400-byte events: under the mock's 5 MiB per partition
const N = PARTITIONS * PER_PARTITION;
const LATENCY_MS = quick ? 3000 : 6000;
const WAVE = 100;
const log = (m) => process.stderr.write(`[bench:kafka] ${m}\n`);

async function brokerBinary() {
  const src = join(ROOT, 'test/fixtures/kafka/mock-broker.c');
  const cache = join(ROOT, 'node_modules/.cache/maif');
  const bin = join(cache, `mock-broker-${createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 16)}`);
  if (existsSync(bin)) return bin;
  mkdirSync(cache, { recursive: true });
  const tmp = `${bin}.${process.pid}`;
  try {
    await promisify(execFile)('gcc', ['-O2', '-Wall', src, '-lrdkafka', '-o', tmp]);
  } catch (err) {
    throw new Error(`cannot build the mock broker (${err.stderr || err.message}); install: apt-get install -y gcc libc6-dev librdkafka-dev`);
  }
  renameSync(tmp, bin);
  return bin;
}

async function startBroker(topics) {
  const child = spawn(await brokerBinary(), Object.entries(topics).map(([t, p]) => `${t}:${p}`), { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => { err = (err + d).slice(-2000); });
  const bootstrap = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the mock broker printed no address: ${err}`)), 10_000);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the mock broker exited (${code}): ${err}`)); });
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) { clearTimeout(timer); child.removeAllListeners('exit'); resolve(out.slice(0, nl).trim()); }
    });
  });
  return { bootstrap, stop: () => new Promise((r) => { if (child.exitCode !== null) return r(); child.once('exit', r); child.kill('SIGTERM'); }) };
}

/** A 400-byte agent event as compact JSON. */
function event(i, sentAt = 0) {
  const e = { ts: 1_790_000_000_000 + i, agent: `agent-${i % 23}`, run: `run-${i % 997}`, step: i % 50, tool: i % 3 ? 'search' : 'llm', sent: sentAt, i, msg: '' };
  e.msg = 'x'.repeat(EVENT_BYTES - JSON.stringify(e).length);
  return JSON.stringify(e);
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function main() {
  const { runPipeline, RunMetrics } = await import('../dist/index.js');
  await import('../dist/builtins.js');
  const { generateKeyring } = await import('../dist/core/format/keyring.js');
  const { Kafka, logLevel } = await import('kafkajs');
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
  const dir = mkdtempSync(join(os.tmpdir(), 'maif-bench-kafka-'));
  const keys = join(dir, 'keys');
  await generateKeyring(keys);
  const topic = `bench-${Date.now().toString(36)}`;
  const latTopic = (k) => `${topic}-lat${k}`;
  const broker = await startBroker({ [topic]: PARTITIONS, [latTopic(0)]: 1, [latTopic(1)]: 1 });
  const kafka = new Kafka({ clientId: 'bench', brokers: broker.bootstrap.split(','), logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  const consumer = { sessionTimeout: 3000, rebalanceTimeout: 3000, heartbeatInterval: 400, maxWaitTimeInMs: 100 };
  const definition = (name, t, frame, ckpt) => ({
    name,
    source: { type: 'kafka', brokers: broker.bootstrap, topics: [t], groupId: `${name}-${t}`, fromBeginning: true, format: 'jsonl', consumer },
    transforms: [
      { type: 'frame', blockRecords: 4096, blockBytes: 1_048_576, blockMs: frame },
      { type: 'compress', codec: 'zstd', level: 3 },
      { type: 'encrypt', keyring: keys },
      { type: 'chain', checkpointEvery: { blocks: 64, ms: ckpt } },
      { type: 'sign' },
    ],
    sink: { type: 'container', path: join(dir, name, '{topic}-{partition}.maif') },
  });
  const result = { bench: 'kafka', quick, date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, loadavg: os.loadavg(), eventBytes: EVENT_BYTES };
  try {
    // ---- throughput
    const t0p = performance.now();
    for (let i = 0; i < N; i += 1000) {
      await producer.send({ topic, acks: -1, messages: Array.from({ length: 1000 }, (_, k) => ({ value: event(i + k), partition: (i + k) % PARTITIONS })) });
    }
    const produceMs = performance.now() - t0p;
    log(`produced ${N} events of ${EVENT_BYTES} B to ${PARTITIONS} partitions in ${produceMs.toFixed(0)} ms`);
    const metrics = new RunMetrics('bench-throughput');
    const stop = new AbortController();
    const started = performance.now();
    let first = 0;
    let durableAt = 0;
    const watch = setInterval(() => {
      if (!first && metrics.source.records > 0) first = performance.now();
      if (metrics.source.records >= N && !stop.signal.aborted) stop.abort();
    }, 2);
    const report = await runPipeline(definition('throughput', topic, 500, 1000), {
      metrics, stop: stop.signal, onCommit: (_o, n) => { if (n >= N && !durableAt) durableAt = performance.now(); },
    });
    clearInterval(watch);
    if (report.delivered !== N || !durableAt) throw new Error(`the worker delivered ${report.delivered} of ${N}`);
    const ms = durableAt - first;
    result.throughput = {
      events: N, partitions: PARTITIONS, messagesPerSec: Math.round(N / (ms / 1000)), inputMBps: +((N * EVENT_BYTES) / 1e6 / (ms / 1000)).toFixed(1),
      ms: Math.round(ms), joinMs: Math.round(first - started), produceMsgPerSec: Math.round(N / (produceMs / 1000)), target: 100_000,
    };
    log(`throughput: ${result.throughput.messagesPerSec} msg/s (${result.throughput.inputMBps} MB/s of events) over ${ms.toFixed(0)} ms; group join ${result.throughput.joinMs} ms`);

    // ---- latency
    result.latency = [];
    for (const [k, [frame, ckpt]] of [[500, 1000], [20, 50]].entries()) {
      const sent = [];
      const lat = [];
      const stopL = new AbortController();
      let base = 0; // records before sent[0] in the sink's cumulative count (the warm-up event, once it is done)
      const running = runPipeline(definition(`latency${k}`, latTopic(k), frame, ckpt), {
        stop: stopL.signal,
        onCommit: (_o, n) => { const now = performance.now(); for (let i = lat.length; i < n - base && i < sent.length; i++) lat.push(now - sent[i]); },
      });
      // One event first, until it is durable: the worker has joined the group.
      sent.push(performance.now());
      await producer.send({ topic: latTopic(k), acks: -1, messages: [{ value: event(0) }] });
      const deadline = Date.now() + 30_000;
      while (lat.length < 1) { if (Date.now() > deadline) throw new Error('the latency worker never made its first event durable'); await new Promise((r) => setTimeout(r, 10)); }
      sent.length = 0;
      lat.length = 0;
      base = 1;
      const end = Date.now() + LATENCY_MS;
      let i = 0;
      while (Date.now() < end) {
        const at = performance.now();
        const msgs = Array.from({ length: WAVE }, (_, j) => ({ value: event(i + j) }));
        for (let j = 0; j < WAVE; j++) sent.push(at);
        await producer.send({ topic: latTopic(k), acks: -1, messages: msgs });
        i += WAVE;
        await new Promise((r) => setTimeout(r, 20));
      }
      while (lat.length < sent.length && Date.now() < end + 15_000) await new Promise((r) => setTimeout(r, 10));
      stopL.abort();
      await running;
      const xs = lat.slice(0, sent.length).sort((a, b) => a - b);
      const row = { blockMs: frame, checkpointMs: ckpt, events: xs.length, ratePerSec: Math.round(sent.length / (LATENCY_MS / 1000)), p50Ms: +percentile(xs, 50).toFixed(1), p99Ms: +percentile(xs, 99).toFixed(1), maxMs: +xs[xs.length - 1].toFixed(1) };
      result.latency.push(row);
      log(`latency (blockMs ${frame}, checkpoint ${ckpt} ms, ${row.ratePerSec} events/s): p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms`);
    }
  } finally {
    await producer.disconnect().catch(() => undefined);
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(join(HERE, 'results'), { recursive: true });
  const file = join(HERE, 'results', `kafka-${result.date.replace(/:/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  log(`results: ${file}`);
  if (asJson) process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err) => { process.stderr.write(`[bench:kafka] ${err.stack ?? err}\n`); process.exit(1); });
