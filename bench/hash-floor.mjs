// Node's floor for `maif verify --pub`: a process that does nothing but read a file and SHA-256 it, split across
// worker threads, with no maif code. The README's "What still limits each miss" compares it with
// `openssl dgst -sha256` and with verify.
//
//   /usr/bin/time -f '%e s' node bench/hash-floor.mjs FILE [WORKERS=2] [READ_BYTES=1048576]
//
// Each worker reads its share of the file in pieces of READ_BYTES and hashes each piece on its own, as verify
// hashes each box. It prints each worker's hashing time; the process's wall time is the figure.
import { Worker } from 'node:worker_threads'
import { statSync } from 'node:fs'

const [file, workers = '2', readBytes = String(1 << 20)] = process.argv.slice(2)
if (!file) {
  console.error('usage: node bench/hash-floor.mjs FILE [WORKERS] [READ_BYTES]')
  process.exit(2)
}
const size = statSync(file).size
const n = Number(workers)
const share = Math.ceil(size / n)
const code = `
const { workerData: w, parentPort } = require('node:worker_threads')
const { openSync, readSync } = require('node:fs')
const { createHash } = require('node:crypto')
const fd = openSync(w.file, 'r')
const buf = Buffer.allocUnsafe(w.readBytes)
const t0 = performance.now()
for (let at = w.from; at < w.to;) {
  const k = readSync(fd, buf, 0, Math.min(buf.length, w.to - at), at)
  if (k === 0) break
  at += k
  createHash('sha256').update(buf.subarray(0, k)).digest()
}
parentPort.postMessage(performance.now() - t0)`
const times = await Promise.all(Array.from({ length: n }, (_, i) => new Promise((resolve, reject) => {
  const w = new Worker(code, { eval: true, workerData: { file, readBytes: Number(readBytes), from: i * share, to: Math.min(size, (i + 1) * share) } })
  w.once('message', resolve)
  w.once('error', reject)
})))
console.log(`${n} worker(s), ${size} bytes: hashing ${times.map((t) => `${t.toFixed(0)} ms`).join(', ')}`)
