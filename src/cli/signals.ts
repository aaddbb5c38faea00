// SIGINT/SIGTERM for commands that run a pipeline: the first signal stops gracefully (the source stops,
// every stage flushes, containers get a final checkpoint, the command exits 0); a second one aborts (130).
import type { Logger } from 'pino'

export interface GracefulSignals {
  /** Aborted by the first signal: the graceful stop. */
  stop: AbortSignal
  /** Aborted by the second signal, just before the process exits 130. */
  abort: AbortSignal
  dispose(): void
}

export function gracefulSignals(logger?: Logger): GracefulSignals {
  const stop = new AbortController()
  const abort = new AbortController()
  let signals = 0
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++
    if (signals === 1) {
      logger?.warn({ signal: sig }, 'stopping: finishing the current batches and writing a final checkpoint (send again to abort)')
      stop.abort()
    } else {
      logger?.error({ signal: sig }, 'aborting')
      abort.abort()
      process.exit(130)
    }
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return {
    stop: stop.signal,
    abort: abort.signal,
    dispose: () => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    },
  }
}
