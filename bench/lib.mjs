// Shared helpers for the bench harness: child-process timing with peak RSS, line batching, stats,
// and the fixed-size record generator used by the engine bench.
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, openSync, closeSync, readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir, constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { sfc32 } from './gen-agent-logs.mjs';

/**
 * @typedef {object} CommandResult
 * @property {number} code        exit code (or 128+signal)
 * @property {number} wallMs      wall time from spawn to exit
 * @property {number | null} peakRssBytes  peak RSS of the child (null if it could not be measured)
 * @property {number | null} cpuMs user+sys CPU time of the child (only with GNU time)
 * @property {string} stdout      captured stdout ('' unless stdout is 'pipe')
 * @property {string} stderr      captured stderr
 */

/** True if /usr/bin/time is GNU time (supports -f and -o). Checked once. */
const gnuTime = (() => {
  if (!existsSync('/usr/bin/time')) return false;
  const r = spawnSync('/usr/bin/time', ['-f', '%M', '-o', '/dev/null', 'true']);
  return r.status === 0;
})();

/**
 * Runs a command, timing it and (optionally) measuring the child's peak RSS.
 * Peak RSS comes from `/usr/bin/time -f %M` when available, else from polling /proc/PID/status VmHWM.
 * @param {string} cmd
 * @param {string[]} args
 * `onStdout`, if given, receives every stdout chunk as a Buffer and nothing is captured (for large outputs).
 * @param {{ stdout?: 'pipe' | 'ignore' | 'devnull', rss?: boolean, cwd?: string, onStdout?: (chunk: Buffer) => void }} [opts]
 * @returns {Promise<CommandResult>}
 */
export async function runCommand(cmd, args, { stdout = 'pipe', rss = false, cwd, onStdout } = {}) {
  if (onStdout) stdout = 'pipe';
  const useTime = rss && gnuTime;
  /** @type {string | undefined} */
  let timeDir;
  let file = cmd, argv = args;
  if (useTime) {
    timeDir = mkdtempSync(join(tmpdir(), 'maif-bench-time-'));
    file = '/usr/bin/time';
    argv = ['-f', '%M %U %S', '-o', join(timeDir, 'out'), cmd, ...args];
  }
  const devnull = stdout === 'devnull' ? openSync('/dev/null', 'w') : undefined;
  const t0 = performance.now();
  /** @type {import('node:child_process').StdioOptions} */
  const stdio = ['ignore', devnull ?? (stdout === 'devnull' ? 'ignore' : stdout), 'pipe'];
  const child = spawn(file, argv, { cwd, stdio });
  let out = '', err = '';
  if (onStdout) child.stdout?.on('data', onStdout);
  else child.stdout?.setEncoding('utf8').on('data', (d) => { out += d; });
  child.stderr?.setEncoding('utf8').on('data', (d) => { err = (err + d).slice(-64 * 1024); });

  let polledHwm = 0;
  /** @type {NodeJS.Timeout | undefined} */
  let poll;
  if (rss && !useTime && child.pid) {
    const statusPath = `/proc/${child.pid}/status`;
    poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(statusPath, 'utf8'));
        if (m) polledHwm = Math.max(polledHwm, Number(m[1]) * 1024);
      } catch { /* process gone */ }
    }, 10);
  }
  /** @type {number} */
  const code = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, sig) => resolve(c ?? 128 + (sig ? osConstants.signals[sig] : 0)));
  }).finally(() => {
    if (poll) clearInterval(poll);
    if (devnull !== undefined) closeSync(devnull);
  });
  const wallMs = performance.now() - t0;

  /** @type {number | null} */
  let peakRssBytes = rss && polledHwm > 0 ? polledHwm : null;
  /** @type {number | null} */
  let cpuMs = null;
  if (timeDir) {
    try {
      const lines = readFileSync(join(timeDir, 'out'), 'utf8').trim().split('\n');
      const [kib, user, sys] = lines[lines.length - 1].split(' ').map(Number);
      if (Number.isFinite(kib)) peakRssBytes = kib * 1024;
      if (Number.isFinite(user) && Number.isFinite(sys)) cpuMs = (user + sys) * 1000;
    } catch { /* leave null */ }
    rmSync(timeDir, { recursive: true, force: true });
  }
  return { code, wallMs, peakRssBytes, cpuMs, stdout: out, stderr: err };
}

/**
 * Reads a file and yields batches of lines (Buffers without the newline), one batch per read chunk.
 * This is the "fast line split" of the JS-loop baseline.
 * @param {string} file
 * @param {number} [highWaterMark]
 * @returns {AsyncGenerator<Buffer[]>}
 */
export async function* lineBatches(file, highWaterMark = 1 << 20) {
  /** @type {Buffer | null} */
  let rest = null;
  for await (const chunk of createReadStream(file, { highWaterMark })) {
    /** @type {Buffer[]} */
    const batch = [];
    let start = 0;
    let nl = chunk.indexOf(10);
    if (rest && nl !== -1) {
      batch.push(Buffer.concat([rest, chunk.subarray(0, nl)]));
      rest = null;
      start = nl + 1;
      nl = chunk.indexOf(10, start);
    }
    while (nl !== -1) {
      batch.push(chunk.subarray(start, nl));
      start = nl + 1;
      nl = chunk.indexOf(10, start);
    }
    if (start < chunk.length) rest = rest ? Buffer.concat([rest, chunk.subarray(start)]) : chunk.subarray(start);
    if (batch.length) yield batch;
  }
  if (rest && rest.length) yield [rest];
}

/**
 * @typedef {object} Stat
 * @property {number} median
 * @property {number} min
 * @property {number} max
 * @property {number} spreadPct  (max - min) / median, in percent
 * @property {number[]} samples
 */

/**
 * @param {number[]} xs
 * @returns {Stat}
 */
export function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  const median = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  return { median, min: s[0], max: s[n - 1], spreadPct: median ? ((s[n - 1] - s[0]) / median) * 100 : 0, samples: xs };
}

/** Last few lines of a (stderr) string, for error messages. @param {string} s */
export function tail(s, lines = 5) {
  return s.trim().split('\n').slice(-lines).join('\n');
}

/**
 * SHA-256 (hex) of a file, streamed.
 * @param {string} file
 * @returns {Promise<string>}
 */
export async function sha256File(file) {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk);
  return h.digest('hex');
}

/** Bump when generateFixedRecords' output for given arguments changes (run.mjs keys its cache on it). */
export const FIXED_RECORDS_VERSION = 1;

const FIXED_WORDS = ('the agent tool call result step plan read write file test build error retry check value ' +
  'output parse config module search query token cache index block stream hash chain verify container ' +
  'append commit patch diff review latency memory worker queue batch event handler timeout request').split(' ');
const FIXED_TOOLS = ['bash', 'read_file', 'write_file', 'edit_file', 'search', 'grep', 'run_tests', 'fetch_url'];

/**
 * Writes floor(bytes / recordBytes) JSONL records (at least one) of exactly `recordBytes` bytes each,
 * newline included: `{"seq","ts","agent","run","tool","msg"}` with `msg` padded from a word list.
 * Deterministic: same arguments, same bytes. Used by the engine bench (1 KiB records).
 * @param {string} path
 * @param {{ bytes: number, recordBytes?: number, seed?: number }} opts
 * @returns {Promise<{ path: string, bytes: number, records: number }>}
 */
export async function generateFixedRecords(path, { bytes, recordBytes = 1024, seed = 1 }) {
  const records = Math.max(1, Math.floor(bytes / recordBytes));
  const rnd = sfc32(seed);
  const t0 = Date.UTC(2025, 0, 1, 8, 0, 0);
  const out = createWriteStream(path, { highWaterMark: 1 << 20 });
  try {
    let chunk = '';
    for (let i = 0; i < records; i++) {
      const head = `{"seq":${i},"ts":"${new Date(t0 + i * 137).toISOString()}","agent":"agent-${String(rnd() % 64).padStart(3, '0')}",` +
        `"run":"run-${rnd().toString(16).padStart(8, '0')}","tool":"${FIXED_TOOLS[rnd() % FIXED_TOOLS.length]}","msg":"`;
      const room = recordBytes - head.length - 3; // '"}' and '\n'
      if (room < 0) throw new Error(`recordBytes ${recordBytes} is too small`);
      let msg = '';
      while (msg.length < room) msg += (msg ? ' ' : '') + FIXED_WORDS[rnd() % FIXED_WORDS.length];
      chunk += head + msg.slice(0, room) + '"}\n';
      if (chunk.length >= 1 << 20) {
        if (!out.write(chunk)) await once(out, 'drain');
        chunk = '';
      }
    }
    out.end(chunk);
    await finished(out);
  } catch (e) {
    out.destroy();
    throw e;
  }
  return { path, bytes: records * recordBytes, records };
}
