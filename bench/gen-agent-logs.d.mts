// Types for bench/gen-agent-logs.mjs, so TypeScript tests can import the generator:
//   import { generate } from './gen-agent-logs.mjs'
export declare const GENERATOR_VERSION: number;

/** sfc32 PRNG seeded via splitmix32; the returned function yields uint32s. */
export declare function sfc32(seed: number): () => number;

/** Parses sizes like 64000000, 64e6, 800KB, 256MiB, 1GiB, 1.5GB (KiB etc. are powers of 1024). */
export declare function parseBytes(v: string | number): number;

export interface GenerateOptions {
  /** Stop at the first line that makes the file reach this size (default: unlimited). */
  bytes?: number;
  /** PRNG seed (default 1). Same arguments, same bytes. */
  seed?: number;
  /** Stop after this many lines (default: unlimited). */
  records?: number;
  /** If > 0, every Nth line (1-based: N, 2N, ...) is malformed JSON instead of a record. */
  badEvery?: number;
  highWaterMark?: number;
}

export interface GenerateResult {
  path: string;
  bytes: number;
  lines: number;
  /** lines - badLines.length */
  records: number;
  /** 1-based line numbers of the malformed lines */
  badLines: number[];
}

/** Writes synthetic agent-log JSONL (~400 B per record) to `path`. Needs `bytes` or `records`. */
export declare function generate(path: string, opts?: GenerateOptions): Promise<GenerateResult>;
