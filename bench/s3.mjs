#!/usr/bin/env node
// `npm run bench` (second part) / `node bench/s3.mjs`: S3 figures against a local moto server (the one the tests
// use; `pip install "moto[server]"`). Short by design: one container of MAIF_BENCH_S3_BYTES of agent logs.
//   - S3 write throughput: `maif pack IN -o s3://…` (write path + Upload), and the bare Upload of the same
//     container file through maif's uploader (lib-storage, 8 MiB parts, queue 4): container MB/s.
//   - ranged-read throughput: `maif verify s3://… --pub` (8 MiB ranged GETs), container MB/s.
//   - a remote `cat --seq N --json`: requests and bytes it needed, and its share of the object.
// Moto keeps objects in memory and serves from one Python process: these are loopback figures of maif's
// client side against that server, not of AWS. Environment: MAIF_BENCH_S3_BYTES (default 32MiB of input),
// MAIF_BENCH_S3_RUNS (default 1; the median is reported), MAIF_TEST_PYTHON (default python3). Stays well under a minute.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { generate, parseBytes } from './gen-agent-logs.mjs';
import { runCommand, stats } from './lib.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const CLI = join(HERE, '..', 'dist', 'cli.js');
const bytes = parseBytes(process.env.MAIF_BENCH_S3_BYTES || '32MiB');
const runs = Math.max(1, Number(process.env.MAIF_BENCH_S3_RUNS) || 1);
// The SDK's Node 20 notice is not a result; its own switch silences it (as the CLI does).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const log = (m) => process.stderr.write(`[bench:s3] ${m}\n`);

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

async function startMoto() {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(process.env.MAIF_TEST_PYTHON ?? 'python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => { err = (err + d).slice(-4000); });
  const deadline = Date.now() + 20000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto exited: ${err}\nInstall it with: pip install "moto[server]"`);
    try { const r = await fetch(`${endpoint}/moto-api/`); await r.arrayBuffer(); if (r.ok) break; } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`moto did not start: ${err}\nInstall it with: pip install "moto[server]"`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { endpoint, stop: () => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); }) };
}

const median = (xs) => stats(xs).median;

async function main() {
  const moto = await startMoto();
  const dir = mkdtempSync(join(os.tmpdir(), 'maif-bench-s3-'));
  const env = { ...process.env, AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: moto.endpoint, AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', AWS_EC2_METADATA_DISABLED: 'true' };
  Object.assign(process.env, env);
  const maif = async (args) => {
    const t0 = performance.now();
    const r = await runCommand(process.execPath, [CLI, ...args], { stdout: 'pipe' });
    if (r.code !== 0) throw new Error(`maif ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return { ...r, ms: performance.now() - t0 };
  };
  try {
    const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');
    const { uploadFile } = await import('../dist/core/aws/upload.js');
    const s3 = new S3Client({ region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: 'bench' }));
    const input = join(dir, 'in.jsonl');
    const gen = await generate(input, { bytes, seed: 1 });
    await maif(['keygen', '--out', join(dir, 'k')]);
    const local = join(dir, 'local.maif');
    await maif(['pack', input, '-o', local, '--keyring', join(dir, 'k')]);
    const size = statSync(local).size;
    log(`input ${gen.bytes} bytes, container ${size} bytes; ${runs} runs each`);

    const pack = [], upload = [], verify = [];
    for (let i = 0; i < runs; i++) {
      pack.push(size / (await maif(['pack', input, '-o', `s3://bench/pack-${i}.maif`, '--keyring', join(dir, 'k')])).ms / 1000);
      const t0 = performance.now();
      await uploadFile(s3, 'bench', `upload-${i}.maif`, local).done;
      upload.push(size / (performance.now() - t0) / 1000);
      verify.push(size / (await maif(['verify', `s3://bench/upload-${i}.maif`, '--pub', join(dir, 'k', 'maif.pub')])).ms / 1000);
    }
    const inspect = JSON.parse((await maif(['inspect', local, '--json'])).stdout);
    const mid = inspect.blocks[Math.floor(inspect.blocks.length / 2)].seq;
    const cat = await maif(['cat', 's3://bench/upload-0.maif', '--keyring', join(dir, 'k'), '--seq', String(mid), '--json']);
    const io = JSON.parse(cat.stdout).io;
    s3.destroy();
    const result = {
      startedAt: new Date().toISOString(), node: process.version, server: 'moto (loopback)', inputBytes: gen.bytes, containerBytes: size, runs,
      packToS3ContainerMBps: median(pack), uploadContainerMBps: median(upload), verifyRangedReadContainerMBps: median(verify),
      catSeq: { seq: mid, requests: io.requests, bytesFetched: io.bytesFetched, sharePct: (100 * io.bytesFetched) / size, ms: cat.ms },
    };
    mkdirSync(join(HERE, 'results'), { recursive: true });
    writeFileSync(join(HERE, 'results', `s3-${result.startedAt.replace(/:/g, '-')}.json`), JSON.stringify(result, null, 2) + '\n');
    console.log(`\nmaif bench s3  ${result.startedAt}  node ${result.node}  ${result.server}; container ${size} bytes, median of ${runs}`);
    console.log(`pack -o s3:// (write path + Upload)    ${result.packToS3ContainerMBps.toFixed(1)} MB/s of container`);
    console.log(`Upload of a container file              ${result.uploadContainerMBps.toFixed(1)} MB/s`);
    console.log(`verify s3:// --pub (ranged GETs)        ${result.verifyRangedReadContainerMBps.toFixed(1)} MB/s of container`);
    console.log(`cat s3:// --seq ${mid} --json               ${io.requests} requests, ${io.bytesFetched} bytes (${result.catSeq.sharePct.toFixed(2)}% of the object)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await moto.stop();
  }
}

main().catch((e) => { console.error(e); process.exit(2); });
