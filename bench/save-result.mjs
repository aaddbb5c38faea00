// Writes a bench's JSON result into bench/results/: `<name>-<time>.json`, and `<name>-latest[-quick].json`
// beside it, so `npm run bench` leaves the vector figures on disk like bench/run.mjs leaves its own.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const RESULTS = join(dirname(fileURLToPath(import.meta.url)), 'results')

export function saveResult(name, result, { quick = false } = {}) {
  mkdirSync(RESULTS, { recursive: true })
  const startedAt = new Date().toISOString()
  const json = JSON.stringify({ bench: name, node: process.version, at: startedAt, quick, ...result }, null, 2) + '\n'
  const stamped = join(RESULTS, `${name}-${startedAt.replace(/:/g, '-')}.json`)
  writeFileSync(stamped, json)
  writeFileSync(join(RESULTS, `${name}-latest${quick ? '-quick' : ''}.json`), json)
  return stamped
}
