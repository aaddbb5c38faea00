// Candidate implementations measured by bench/run.mjs. Swap any of these for an in-process
// implementation later; run.mjs only relies on the contracts documented here.
//
// Contract:
//   - Every function is async. run.mjs times the call itself; a function can return a more exact
//     `wallMs` and should return `peakRssBytes` when it runs a child process.
//   - Throw `SkipError` (code BENCH_SKIP) when the candidate cannot run yet (not built, not implemented).
//     run.mjs reports it as "skipped", never as a number. Any other error is reported as "failed".
import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
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
 * @returns {Promise<CandidateRun>}
 */
export async function pack(input, out, keyringDir) {
  rmSync(out, { force: true });
  const r = await cli(['pack', input, '-o', out, '--keyring', keyringDir]);
  return { wallMs: r.wallMs, peakRssBytes: r.peakRssBytes, cpuMs: r.cpuMs };
}

/**
 * Verifies the container; the parsed `--json` report (if any) is kept as `detail`.
 * @param {string} container
 * @param {string} keyringDir
 * @returns {Promise<CandidateRun>}
 */
export async function verify(container, keyringDir) {
  const r = await cli(['verify', container, '--keyring', keyringDir, '--json']);
  /** @type {unknown} */
  let detail;
  try { detail = JSON.parse(r.stdout); } catch { detail = r.stdout.slice(0, 2000); }
  return { wallMs: r.wallMs, peakRssBytes: r.peakRssBytes, cpuMs: r.cpuMs, detail };
}

/**
 * Appends `n` small audit events through the library API.
 * @param {number} n
 * @returns {Promise<{ eventsPerSec: number, overheadBytesPerEvent: number }>}
 */
export async function events(n) {
  if (!existsSync(fileURLToPath(INDEX))) throw new SkipError('dist/index.js not found (run `npm run build` first)');
  const maif = await import(INDEX.href);
  void maif;
  void n;
  // TODO(core): write n events through the event API, time it, and compute
  // (container bytes - empty-container bytes) / n.
  throw new SkipError('events(): not implemented yet in bench/candidates.mjs');
}

/**
 * In-process engine throughput over the same records as the JS-loop baseline.
 * @param {AsyncIterable<Buffer[]>} records batches of JSONL lines (no trailing newline)
 * @returns {Promise<{ records?: number } | void>}
 */
export async function engine(records) {
  void records;
  // TODO(core): push the batches through the engine (parse, frame, compress, encrypt, chain, sign)
  // into a discarding sink.
  throw new SkipError('engine(): not implemented yet in bench/candidates.mjs');
}
