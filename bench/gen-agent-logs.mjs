#!/usr/bin/env node
// Deterministic generator of synthetic AI-agent log JSONL (~400-byte records).
//
//   node bench/gen-agent-logs.mjs OUT BYTES [SEED] [--records N] [--bad-every N]
//
// BYTES accepts plain numbers or suffixes: 64e6, 800KB, 256MiB, 1GiB.
// The output depends only on (seed, limits, badEvery): same arguments, same bytes.
// Randomness comes from sfc32 (seeded through splitmix32), not from an LCG, so
// the corpus does not repeat and zstd -1 lands near the ~4x that real agent logs get.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';

/** Bump when the output for a given seed changes (run.mjs uses it to invalidate cached files). */
export const GENERATOR_VERSION = 1;

/**
 * sfc32 PRNG seeded via splitmix32. Returns a function yielding uint32s.
 * @param {number} seed
 * @returns {() => number}
 */
export function sfc32(seed) {
  let s = seed >>> 0;
  const splitmix32 = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix32(), b = splitmix32(), c = splitmix32(), d = splitmix32();
  const next = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) next(); // discard warm-up outputs
  return next;
}

// ~300 words, roughly in frequency order (picked with a Zipf-like weighting).
const WORDS = (
  'the to and a of in is for it that this with on be not as are was from by at an or if ' +
  'file test function error agent will should can run need check value output code then ' +
  'now next build config module import return call tool result step plan task user data ' +
  'read write update change fix add remove use make found line type string number object ' +
  'array list path directory command request response status message log debug warning ' +
  'failed passed expected actual missing undefined null invalid timeout retry again first ' +
  'last new old current previous because when after before into all some each only also ' +
  'still just so but we I you its has have had does did done looks seems like appears ' +
  'server client cache index block stream record hash chain signature verify container ' +
  'append query vector embedding similarity search token context window memory latency ' +
  'throughput benchmark commit branch merge review patch diff edit summary analysis ' +
  'package dependency version install script compile compiler typescript node npm json ' +
  'schema field property key parameter argument option flag default environment variable ' +
  'process thread worker queue job batch event handler listener callback promise async ' +
  'await method class interface implementation helper utility wrapper adapter source sink ' +
  'transform pipeline stage input format parse serialize encode decode compress encrypt ' +
  'decrypt sign key secret token permission access denied allowed network connection ' +
  'socket port host url endpoint route api http header body payload size limit length ' +
  'count total average median minimum maximum rate percent ratio second millisecond ' +
  'byte bytes kilobyte megabyte line number column row table database transaction lock ' +
  'test suite case assertion mock fixture snapshot coverage report lint format style ' +
  'issue bug regression feature refactor cleanup rename move split extract inline ' +
  'should probably likely maybe definitely carefully quickly correctly properly ' +
  'understand investigate confirm verify reproduce isolate narrow trace inspect ' +
  'question answer explain describe suggest propose consider compare evaluate decide ' +
  'correct wrong better worse simpler faster slower safer larger smaller'
).split(' ');

const TOOLS = ['bash', 'read_file', 'write_file', 'edit_file', 'search', 'grep', 'list_dir', 'run_tests', 'fetch_url', 'python'];
const DIRS = ['src', 'src/core', 'src/sinks', 'src/sources', 'lib', 'test', 'bench', 'docs', 'scripts', 'packages/api/src'];
const EXTS = ['.ts', '.ts', '.ts', '.js', '.json', '.md', '.py', '.yaml'];
const MODELS = ['model-large-2025', 'model-small-2025', 'model-medium-2024'];
const LEVELS = ['info', 'info', 'info', 'info', 'debug', 'debug', 'warn', 'error'];
const ZIPF_S = 1.3;
const HEX2 = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Zipf-weighted lookup table: WORDS[WORD_TABLE[16 random bits]]. */
const WORD_TABLE = (() => {
  const w = WORDS.map((_, i) => 1 / Math.pow(i + 1, ZIPF_S));
  const total = w.reduce((x, y) => x + y, 0);
  const table = new Uint16Array(65536);
  let acc = 0, j = 0;
  for (let i = 0; i < w.length; i++) {
    acc += (w[i] / total) * 65536;
    const end = i === w.length - 1 ? 65536 : Math.round(acc);
    while (j < end) table[j++] = i;
  }
  return table;
})();

/**
 * Builds one record-line factory bound to a PRNG.
 * @param {number} seed
 */
function makeSource(seed) {
  const rnd = sfc32(seed);
  const u = () => rnd() / 4294967296; // [0, 1)
  const int = (/** @type {number} */ n) => Math.floor(u() * n);
  /** @template T @param {T[]} a @returns {T} */
  const pick = (a) => a[int(a.length)];
  const hex8 = () => { const x = rnd(); return HEX2[x >>> 24] + HEX2[(x >>> 16) & 255] + HEX2[(x >>> 8) & 255] + HEX2[x & 255]; };
  const hex16 = () => hex8() + hex8();
  const hex40 = () => hex8() + hex8() + hex8() + hex8() + hex8();
  const word = () => WORDS[WORD_TABLE[rnd() >>> 16]];
  /** @param {number} n */
  const sentence = (n) => {
    let s = word();
    s = s[0].toUpperCase() + s.slice(1);
    for (let i = 1; i < n; i++) s += ' ' + word();
    return s + (u() < 0.85 ? '.' : '?');
  };
  /** @param {number} min @param {number} max */
  const text = (min, max) => {
    let n = min + int(max - min + 1);
    let out = '';
    while (n > 0) { const k = Math.min(n, 4 + int(12)); out += (out ? ' ' : '') + sentence(k); n -= k; }
    return out;
  };
  const filePath = () => `${pick(DIRS)}/${word()}-${word()}${pick(EXTS)}`;

  /** @typedef {{ agent: string, run: string, model: string, step: number, last: string }} Run */
  const newRun = () => /** @type {Run} */ ({
    agent: `agent-${String(int(64)).padStart(3, '0')}`,
    run: `run-${hex8()}`,
    model: pick(MODELS),
    step: 0,
    last: '',
  });
  /** @type {Run[]} */
  const runs = Array.from({ length: 12 }, newRun);
  let t = Date.UTC(2025, 0, 1, 8, 0, 0);

  /** @returns {Record<string, unknown>} */
  return function nextRecord() {
    const slot = int(runs.length);
    if (runs[slot].step > 20 && u() < 0.02) runs[slot] = newRun();
    const r = runs[slot];
    t += int(2500);
    r.step++;
    const id = hex16();
    const x = u();
    const kind = x < 0.3 ? 'tool_call' : x < 0.6 ? 'tool_result' : x < 0.8 ? 'thought' : 'message';
    /** @type {Record<string, unknown>} */
    const rec = {
      ts: new Date(t).toISOString(),
      level: pick(LEVELS),
      agent: r.agent,
      run: r.run,
      step: r.step,
      id,
      parent: r.last || null,
      event: kind,
    };
    r.last = id;
    if (kind === 'tool_call') {
      const name = pick(TOOLS);
      rec.role = 'assistant';
      rec.tool = name;
      rec.args = name === 'bash' || name === 'run_tests'
        ? { cmd: `${pick(['npm test', 'npm run build', 'node', 'git diff', 'ls -la', 'tsc --noEmit'])} ${filePath()}`, timeout_ms: pick([10000, 30000, 60000, 120000]) }
        : name === 'search' || name === 'grep' || name === 'fetch_url'
          ? { query: sentence(3 + int(5)), limit: pick([5, 10, 20, 50]) }
          : { path: filePath(), sha: hex40() };
      rec.reason = text(6, 24);
    } else if (kind === 'tool_result') {
      rec.role = 'tool';
      rec.tool = pick(TOOLS);
      rec.ok = u() > 0.15;
      rec.ms = int(u() < 0.9 ? 800 : 30000);
      rec.sha = hex40();
      rec.bytes = int(200000);
      rec.output = text(8, 50);
    } else if (kind === 'thought') {
      rec.role = 'assistant';
      rec.text = text(12, 58);
    } else {
      rec.role = u() < 0.5 ? 'user' : 'assistant';
      rec.model = r.model;
      rec.text = text(8, 50);
    }
    rec.tokens = { in: int(8000), out: int(1500) };
    return rec;
  };
}

/**
 * Turns a valid record line into a deterministic malformed one (never valid JSON).
 * @param {string} line valid JSON, no trailing newline
 * @param {number} k index of this malformed line (0, 1, 2, ...)
 */
function corrupt(line, k) {
  switch (k % 3) {
    case 0: return line.slice(0, Math.floor(line.length / 2)); // truncated object
    case 1: return line.slice(0, -1) + ','; // trailing comma, missing closing brace
    default: return line.replace('"ts":', 'ts:'); // unquoted key
  }
}

/**
 * Parses sizes like 64000000, 64e6, 800KB, 256MiB, 1GiB, 1.5GB.
 * @param {string | number} v
 */
export function parseBytes(v) {
  if (typeof v === 'number') return v;
  const m = /^\s*([\d.]+(?:e\d+)?)\s*([kmgt]i?b?)?\s*$/i.exec(v);
  if (!m) throw new Error(`invalid byte size: ${v}`);
  const unit = (m[2] || '').toLowerCase();
  const pow = { '': 0, k: 1, m: 2, g: 3, t: 4 }[unit[0] || ''] ?? 0;
  const base = unit.includes('i') ? 1024 : 1000;
  return Math.round(Number(m[1]) * base ** pow);
}

/**
 * Writes synthetic agent-log JSONL to `path`, streaming with backpressure.
 * Stops at the first line that makes the file reach `bytes` (so size >= bytes, by less than one line),
 * or after `records` lines, whichever comes first.
 * @param {string} path
 * @param {{ bytes?: number, seed?: number, records?: number, badEvery?: number, highWaterMark?: number }} [opts]
 *   badEvery: if > 0, every Nth line (N, 2N, ... 1-based) is malformed JSON instead of a record.
 * @returns {Promise<{ path: string, bytes: number, lines: number, records: number, badLines: number[] }>}
 */
export async function generate(path, { bytes = Infinity, seed = 1, records = Infinity, badEvery = 0, highWaterMark = 1 << 20 } = {}) {
  if (!(bytes > 0) && !(records > 0)) throw new Error('generate: need bytes or records');
  const next = makeSource(seed);
  const out = createWriteStream(path, { highWaterMark });
  const chunkTarget = 256 * 1024; // characters per write() call
  /** @type {number[]} */
  const badLines = [];
  let written = 0, lines = 0, chunk = '';
  try {
    while (written < bytes && lines < records) {
      let line = JSON.stringify(next());
      lines++;
      if (badEvery > 0 && lines % badEvery === 0) { line = corrupt(line, badLines.length); badLines.push(lines); }
      line += '\n';
      chunk += line;
      written += line.length; // every generated character is ASCII, so length === byte length
      if (chunk.length >= chunkTarget) {
        if (!out.write(chunk)) await once(out, 'drain'); // rejects if the stream errors
        chunk = '';
      }
    }
    out.end(chunk);
    await finished(out);
  } catch (err) {
    out.destroy();
    throw err;
  }
  return { path, bytes: written, lines, records: lines - badLines.length, badLines };
}

// CLI
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  /** @param {string} flag */
  const flag = (flag) => {
    const i = args.indexOf(flag);
    if (i < 0) return undefined;
    const v = args[i + 1];
    args.splice(i, 2);
    return v;
  };
  const records = flag('--records');
  const badEvery = flag('--bad-every');
  const [out, bytesArg, seedArg] = args;
  if (!out || !bytesArg) {
    console.error('usage: node bench/gen-agent-logs.mjs OUT BYTES [SEED] [--records N] [--bad-every N]');
    process.exit(2);
  }
  const t0 = performance.now();
  const res = await generate(out, {
    bytes: parseBytes(bytesArg),
    seed: seedArg ? Number(seedArg) : 1,
    records: records ? Number(records) : Infinity,
    badEvery: badEvery ? Number(badEvery) : 0,
  });
  const s = (performance.now() - t0) / 1000;
  console.error(`wrote ${res.bytes} bytes, ${res.lines} lines (${res.records} records, ${res.badLines.length} malformed${res.badLines.length ? ' at ' + res.badLines.slice(0, 10).join(',') + (res.badLines.length > 10 ? ',...' : '') : ''}) to ${out} in ${s.toFixed(1)} s`);
}
