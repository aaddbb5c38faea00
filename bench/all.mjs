#!/usr/bin/env node
// `npm run bench`: every bench, in order, each a child process of its own (one bench's heap and native
// memory never skew the next one's RSS figures), with the arguments each understands:
//   --quick       to the benches that take it (smaller inputs, about a minute each)
//   --vectors N   to the vector-search bench (default 100k; `npm run bench -- --vectors 1e6` for the 1M run)
//   --list        print the commands it would run, one a line, and run none
// `npm run bench -- ARGS` appends ARGS to the last command of the npm script only, so this one script takes
// them and forwards them. A bench that fails is reported and the rest still run; the exit code says so.
//
// Adding a bench is one line in BENCHES: its file, and which of the flags above it takes.
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const HERE = dirname(fileURLToPath(import.meta.url))

/** The benches, in the order they run. `takes` lists the forwarded flags each understands. */
const BENCHES = [
  { file: 'run.mjs', takes: ['quick'] },
  { file: 's3.mjs', takes: [] },
  { file: 'vector-search.mjs', takes: ['quick', 'vectors'] },
  { file: 'hsc.mjs', takes: ['quick'] },
  { file: 'kafka.mjs', takes: ['quick'] },
]

const argv = process.argv.slice(2)
const flags = { quick: argv.includes('--quick') }
const LIST = argv.includes('--list')
const at = argv.indexOf('--vectors')
if (at !== -1) {
  const n = Number(argv[at + 1])
  if (!Number.isFinite(n) || n < 1) {
    process.stderr.write(`bench: --vectors takes a count (100000, 1e6), got '${argv[at + 1] ?? ''}'\n`)
    process.exit(2)
  }
  flags.vectors = String(Math.round(n))
}
const unknown = argv.filter((a, i) => a.startsWith('--') && !['--quick', '--vectors', '--list'].includes(a) && argv[i - 1] !== '--vectors')
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown ${unknown.join(' ')} (bench/all.mjs takes --quick, --vectors N and --list)\n`)
  process.exit(2)
}

/** The arguments a bench gets: the flags it takes that were given. */
function argsFor(b) {
  const out = []
  if (b.takes.includes('quick') && flags.quick) out.push('--quick')
  if (b.takes.includes('vectors') && flags.vectors) out.push('--vectors', flags.vectors)
  return out
}

function run(file, args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(HERE, file), ...args], { stdio: 'inherit' })
    child.on('error', (err) => { process.stderr.write(`bench: ${file}: ${err.message}\n`); resolve(1) })
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)))
  })
}

if (LIST) {
  for (const b of BENCHES) process.stdout.write(['bench/' + b.file, ...argsFor(b)].join(' ') + '\n')
  process.exit(0)
}

const failed = []
for (const b of BENCHES) {
  const args = argsFor(b)
  process.stderr.write(`\n== bench/${b.file}${args.length ? ' ' + args.join(' ') : ''}\n`)
  const code = await run(b.file, args)
  if (code !== 0) failed.push(`${b.file} (exit ${code})`)
}
if (failed.length > 0) {
  process.stderr.write(`\nbench: failed: ${failed.join(', ')}\n`)
  process.exit(1)
}
