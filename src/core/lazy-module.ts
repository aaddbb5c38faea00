// Libraries that only some components use (kafkajs, the Elasticsearch client, the CloudWatch Logs SDK) load on
// first use, not when their component registers: every command imports the built-in registry, and loading them
// there cost `maif pack` and `maif run` most of a second of start-up. These libraries ship CommonJS builds, so
// a synchronous require keeps the callers synchronous.
import { createRequire } from 'node:module'

const requireCjs = createRequire(import.meta.url)

/** A getter that loads the CommonJS build of `name` on its first call (Node caches it afterwards). */
export function lazyModule<T>(name: string): () => T {
  let loaded: T | undefined
  return () => (loaded ??= requireCjs(name) as T)
}
