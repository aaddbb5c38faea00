// Candidate implementations measured by bench/run.mjs. Swap any of these for an in-process
// implementation later; run.mjs only relies on the contracts documented here.
//
// Contract:
//   - Every function is async. run.mjs times the call itself; a function can return a more exact
//     `wallMs` and should return `peakRssBytes` when it runs a child process.
//   - Throw `SkipError` (code BENCH_SKIP) when the candidate cannot run yet (not built, not implemented).
//     run.mjs reports it as "skipped", never as a number. Any other error is reported as "failed".
import { createWriteStream, existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { sfc32 } from './gen-agent-logs.mjs';
import { runCommand, tail } from './lib.mjs';

// MAIF_BENCH_CLI points the CLI candidates at another build (e.g. an installed maif or a mock).
const CLI = process.env.MAIF_BENCH_CLI || fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const INDEX = new URL('../dist/index.js', import.meta.url);

/** The candidate cannot run yet; run.mjs reports it as skipped. */
export class SkipError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'SkipError';
    this.code = 'BENCH_SKIP';
  }
}

/**
 * @typedef {object} CandidateRun
 * @property {number} [wallMs]              wall time, if measured more exactly than run.mjs can
 * @property {number | null} [peakRssBytes] peak RSS of the process doing the work
 * @property {number | null} [cpuMs]        user+sys CPU time
 * @property {unknown} [detail]             anything worth keeping in the JSON results (e.g. verify report)
 */

/**
 * Runs `node dist/cli.js ...args` with timing and peak RSS; throws on a non-zero exit.
 * @param {string[]} args
 * @returns {Promise<import('./lib.mjs').CommandResult>}
 */
async function cli(args) {
  if (!existsSync(CLI)) throw new SkipError(`${CLI} not found (run \`npm run build\` first)`);
  const r = await runCommand(process.execPath, [CLI, ...args], { rss: true, stdout: 'pipe' });
  if (r.code !== 0) throw new Error(`maif ${args[0]} exited with code ${r.code}: ${tail(r.stderr) || tail(r.stdout)}`);
  return r;
}

/**
 * Creates a keyring for pack/verify.
 * @param {string} keyringDir
 * @returns {Promise<CandidateRun>}
 */
export async function keygen(keyringDir) {
  const r = await cli(['keygen', '--out', keyringDir]);
  return { wallMs: r.wallMs, peakRssBytes: r.peakRssBytes, cpuMs: r.cpuMs };
}

/**
 * Packs JSONL `input` into the container `out`.
 * @param {string} input
 * @param {string} out
 * @param {string} keyringDir
 * @param {string[]} [extra] more `maif pack` flags (e.g. --block-records 1)
 * @returns {Promise<CandidateRun>}
 */
export async function pack(input, out, keyringDir, extra = []) {
  rmSync(out, { force: true });
  const r = await cli(['pack', input, '-o', out, '--keyring', keyringDir, ...extra]);
  return { wallMs: r.wallMs, peakRssBytes: r.peakRssBytes, cpuMs: r.cpuMs };
}

/**
 * Runs `maif verify --json` and keeps the parsed report as `detail`.
 * @param {string[]} args
 * @returns {Promise<CandidateRun>}
 */
async function verifyJson(args) {
  const r = await cli(['verify', ...args, '--json']);
  /** @type {unknown} */
  let detail;
  try { detail = JSON.parse(r.stdout); } catch { detail = r.stdout.slice(0, 2000); }
  return { wallMs: r.wallMs, peakRssBytes: r.peakRssBytes, cpuMs: r.cpuMs, detail };
}

/**
 * Integrity + pinned-signature verify (`--pub DIR/maif.pub`): hashes every box, checks the chain,
 * the Merkle tree and the checkpoint signatures, decrypts nothing. This is the figure compared with
 * `openssl dgst -sha256` on the container. The CLI uses worker threads for this mode.
 * @param {string} container
 * @param {string} keyringDir
 * @returns {Promise<CandidateRun>}
 */
export async function verify(container, keyringDir) {
  return verifyJson([container, '--pub', join(keyringDir, 'maif.pub')]);
}

/**
 * Full verify (`--keyring DIR`): also decrypts, authenticates and decompresses every block.
 * @param {string} container
 * @param {string} keyringDir
 * @returns {Promise<CandidateRun>}
 */
export async function verifyDecrypt(container, keyringDir) {
  return verifyJson([container, '--keyring', keyringDir]);
}

/**
 * `maif cat OUT --keyring DIR --jsonl`, hashing the child's stdout with SHA-256 in this process.
 * @param {string} container
 * @param {string} keyringDir
 * @returns {Promise<CandidateRun & { sha256: string, outBytes: number }>}
 */
export async function cat(container, keyringDir) {
  if (!existsSync(CLI)) throw new SkipError(`${CLI} not found (run \`npm run build\` first)`);
  const h = createHash('sha256');
  let outBytes = 0;
  const onStdout = (/** @type {Buffer} */ d) => { outBytes += d.length; h.update(d); };
  const r = await runCommand(process.execPath, [CLI, 'cat', container, '--keyring', keyringDir, '--jsonl'], { rss: true, onStdout });
  if (r.code !== 0) throw new Error(`maif cat exited with code ${r.code}: ${tail(r.stderr)}`);
  return { wallMs: r.wallMs, peakRssBytes: r.peakRssBytes, cpuMs: r.cpuMs, sha256: h.digest('hex'), outBytes };
}

// ---------------------------------------------------------------------------------------------
// events(n)

const EVENT_BYTES = 400; // JSON.stringify(event).length, exactly
const EVENT_POOL = 10_000; // distinct event objects, cycled
const EVENT_WORDS = ('the agent tool call result step plan read write file test build error retry check value ' +
  'output parse config module search query token cache index block stream hash chain verify container ' +
  'append commit patch diff review latency memory worker queue batch event handler timeout request').split(' ');
const EVENT_TOOLS = ['bash', 'read_file', 'write_file', 'edit_file', 'search', 'grep', 'run_tests', 'fetch_url'];

/** @type {Record<string, unknown>[] | undefined} */
let eventObjects;
/** 10,000 distinct agent-like events, each exactly EVENT_BYTES when JSON-stringified. Deterministic. */
function makeEvents() {
  if (eventObjects) return eventObjects;
  const rnd = sfc32(7);
  const t0 = Date.UTC(2025, 0, 1, 8, 0, 0);
  eventObjects = [];
  for (let i = 0; i < EVENT_POOL; i++) {
    const ev = {
      ts: new Date(t0 + i * 137).toISOString(),
      agent: `agent-${String(rnd() % 64).padStart(3, '0')}`,
      run: `run-${rnd().toString(16).padStart(8, '0')}`,
      step: i % 500,
      tool: EVENT_TOOLS[rnd() % EVENT_TOOLS.length],
      msg: '',
    };
    const room = EVENT_BYTES - JSON.stringify(ev).length;
    let msg = '';
    while (msg.length < room) msg += (msg ? ' ' : '') + EVENT_WORDS[rnd() % EVENT_WORDS.length];
    ev.msg = msg.slice(0, room);
    eventObjects.push(ev);
  }
  return eventObjects;
}

/** @type {Map<number, number>} */
const zstdSizeByN = new Map();
/**
 * Size of `zstd -1 -T1` on the JSONL text of the first n events (what the framer stores), via a temp file.
 * Computed once per n.
 * @param {number} n
 * @param {string} dir
 */
async function zstdBytesOfEvents(n, dir) {
  const cached = zstdSizeByN.get(n);
  if (cached !== undefined) return cached;
  const objs = makeEvents();
  const lines = objs.map((o) => JSON.stringify(o) + '\n');
  const file = join(dir, `events-${n}.jsonl`);
  const out = createWriteStream(file, { highWaterMark: 1 << 20 });
  try {
    let chunk = '';
    for (let i = 0; i < n; i++) {
      chunk += lines[i % lines.length];
      if (chunk.length >= 1 << 20) {
        if (!out.write(chunk)) await once(out, 'drain');
        chunk = '';
      }
    }
    out.end(chunk);
    await finished(out);
    let size = 0;
    const r = await runCommand('zstd', ['-1', '-T1', '-q', '-c', file], { onStdout: (d) => { size += d.length; } });
    if (r.code !== 0) throw new Error(`zstd exited with ${r.code}: ${tail(r.stderr)}`);
    zstdSizeByN.set(n, size);
    return size;
  } finally {
    out.destroy();
    rmSync(file, { force: true });
  }
}

/**
 * The floor of the events figure: `JSON.stringify` of the same n events in arrays of 256, as the framer
 * serialises them, and nothing else (after one warm-up pass). It depends on the V8 in this Node.
 * @param {number} n
 * @returns {{ eventsPerSec: number }}
 */
export function stringifyEvents(n) {
  const objs = makeEvents();
  const pass = () => {
    let chars = 0;
    for (let i = 0; i < n; i += 256) {
      const batch = [];
      for (let k = 0; k < 256 && i + k < n; k++) batch.push(objs[(i + k) % objs.length]);
      chars += JSON.stringify(batch).length;
    }
    return chars;
  };
  pass();
  const t0 = performance.now();
  if (pass() <= 0) throw new Error('JSON.stringify produced nothing');
  return { eventsPerSec: (n / (performance.now() - t0)) * 1000 };
}

/**
 * Writes n 400-byte JSON events through writeContainer (in process), from a Readable in objectMode.
 * overheadBytesPerEvent = (container bytes - `zstd -1` bytes of the identical JSONL text) / n.
 * @param {number} n
 * @param {string} keyringDir
 * @param {{ dir: string, pool?: boolean }} opts  dir: scratch directory; pool: compress on a WorkerPool
 * @returns {Promise<{ eventsPerSec: number, containerBytesPerEvent: number, overheadBytesPerEvent: number, wallMs: number, containerBytes: number, zstdBytes: number }>}
 */
export async function events(n, keyringDir, { dir, pool: usePool = false }) {
  if (!existsSync(fileURLToPath(INDEX))) throw new SkipError('dist/index.js not found (run `npm run build` first)');
  const maif = await import(INDEX.href);
  const kr = await maif.loadKeyring(keyringDir);
  const objs = makeEvents();
  const zstdBytes = await zstdBytesOfEvents(n, dir);
  const out = join(dir, `events-${usePool ? 'pool' : 'inline'}.maif`);
  rmSync(out, { force: true });

  let i = 0;
  const src = new Readable({
    objectMode: true,
    highWaterMark: 1024,
    read() {
      while (i < n) if (!this.push(objs[i++ % objs.length])) return;
      this.push(null);
    },
  });
  const pool = usePool ? new maif.WorkerPool() : undefined;
  let wallMs;
  try {
    const t0 = performance.now();
    await maif.writeContainer(out, src, { keyProvider: kr, signer: kr.signer, framer: { blockRecords: 4096 }, ...(pool ? { pool } : {}) });
    wallMs = performance.now() - t0;
  } finally {
    await pool?.close();
  }
  const containerBytes = statSync(out).size;
  rmSync(out, { force: true });
  return {
    eventsPerSec: (n / wallMs) * 1000,
    containerBytesPerEvent: containerBytes / n,
    overheadBytesPerEvent: (containerBytes - zstdBytes) / n,
    wallMs, containerBytes, zstdBytes,
  };
}

// ---------------------------------------------------------------------------------------------
// engine(input, { stages, sink })

// The public API, as a pipeline script uses it.
const ENGINE = INDEX;

/** @returns {Promise<{ runPipeline: (def: unknown, opts: unknown) => Promise<any>, componentsFromStages: (s: unknown) => unknown[] }>} */
async function loadEngine() {
  if (!existsSync(fileURLToPath(ENGINE))) throw new SkipError('dist/index.js not found (run `npm run build` first)');
  const m = await import(ENGINE.href);
  if (typeof m.runPipeline !== 'function' || typeof m.componentsFromStages !== 'function') {
    throw new SkipError('dist/index.js does not export runPipeline and componentsFromStages');
  }
  return m;
}

/**
 * The bench pipeline: a text file source, `stages` no-op record stages, a file sink.
 * @param {string} input @param {number} stages @param {string} sink
 */
export function engineDefinition(input, stages, sink) {
  return {
    name: 'bench-engine',
    source: { type: 'file', path: input, format: 'text' },
    transforms: Array.from({ length: stages }, () => ({ type: 'noop' })),
    sink: { type: 'file', path: sink },
  };
}

/**
 * A `noop` transform component. MAIF_BENCH_ENGINE_STAGE_MODE=record makes it per record (one call per
 * record); the default is the batch form (one call per ~1 MiB batch): the target is for "stages that batch".
 */
async function noopComponents() {
  const { componentsFromStages } = await loadEngine();
  const perRecord = process.env.MAIF_BENCH_ENGINE_STAGE_MODE === 'record';
  return componentsFromStages({
    noop: perRecord ? { create: () => (/** @type {unknown} */ r) => r } : { createBatch: () => (/** @type {unknown} */ b) => b },
  });
}

/**
 * Picks where the engine (and the bare-loop baseline) write: /dev/null if the engine's file sink
 * accepts it, else a file on tmpfs (/dev/shm, or `dir` without it). The file sink fsyncs on close and
 * fsync on /dev/null fails with EINVAL, so this is probed with a one-line input first.
 * @param {string} dir scratch directory
 * @returns {Promise<{ path: string, note: string | null }>}
 */
export async function engineSink(dir) {
  const { runPipeline } = await loadEngine();
  const components = await noopComponents();
  const probe = join(dir, 'engine-probe.jsonl');
  writeFileSync(probe, '{"probe":1}\n');
  try {
    await runPipeline(engineDefinition(probe, 1, '/dev/null'), { components });
    return { path: '/dev/null', note: null };
  } catch (e) {
    const path = existsSync('/dev/shm') ? join('/dev/shm', `maif-bench-engine-${process.pid}.out`) : join(dir, 'engine-sink.out');
    return {
      path,
      note: `the engine's file sink cannot write to /dev/null (${String(/** @type {Error} */ (e)?.message ?? e).split('\n')[0]}), ` +
        `so the engine and the bare loop both write to ${path}, removed after each run`,
    };
  } finally {
    rmSync(probe, { force: true });
  }
}

/**
 * In-process `runPipeline` over a JSONL file read as text: `stages` no-op record stages
 * (`{ type: 'noop' }`, registered as `{ create: () => (r) => r }`), then a file sink at `sink`.
 * The time covers the whole runPipeline call (validation, worker pool start and close, final fsync).
 * A sink other than /dev/null is removed before and after the run.
 * @param {string} input
 * @param {{ stages: number, sink: string }} opts
 * @returns {Promise<CandidateRun & { wallMs: number, records: number }>}
 */
export async function engine(input, { stages, sink }) {
  const { runPipeline } = await loadEngine();
  const components = await noopComponents();
  const def = engineDefinition(input, stages, sink);
  const devNull = sink === '/dev/null';
  if (!devNull) rmSync(sink, { force: true });
  try {
    const t0 = performance.now();
    const report = await runPipeline(def, { components });
    const wallMs = performance.now() - t0;
    return { wallMs, records: report.delivered, detail: report };
  } finally {
    if (!devNull) rmSync(sink, { force: true });
  }
}
