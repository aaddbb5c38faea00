import { intOpt, parse, strOpt, usage } from './args.js'
import { gracefulSignals } from './signals.js'

export default async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    set: { type: 'string', multiple: true }, json: { type: 'boolean' }, progress: { type: 'boolean' }, 'no-progress': { type: 'boolean' },
    'metrics-port': { type: 'string' }, 'log-level': { type: 'string' }, keyring: { type: 'string' },
  })
  if (positionals.length !== 1) usage('run takes one PIPELINE file')
  await import('../builtins.js')
  const [{ runPipeline }, { loadPipelineFile, parseSetArgs }, { resolveSinks }, { createLogger, RunMetrics, startProgress, startPrometheus }] = await Promise.all([
    import('../core/runtime/engine.js'), import('../core/runtime/pipeline-def.js'), import('../core/runtime/pipeline-schema.js'), import('../core/runtime/observability.js'),
  ])
  const loaded = await loadPipelineFile(positionals[0]!, { set: parseSetArgs((values.set ?? []) as string[]) })
  const logger = createLogger({ level: typeof values['log-level'] === 'string' ? values['log-level'] : 'info' })
  for (const w of loaded.warnings) logger.warn({ rule: w.rule, line: w.line }, w.message)
  const def = loaded.definition
  const metrics = new RunMetrics(def.name ?? 'pipeline', def.labels)
  const signals = gracefulSignals(logger)
  const tty = values['no-progress'] ? false : values.progress === true || process.stderr.isTTY === true
  const progress = startProgress(metrics, { logger, tty, ...(tty ? { stream: process.stderr } : {}) })
  const prom = typeof values['metrics-port'] === 'string' ? await startPrometheus(metrics, { port: intOpt(values['metrics-port'], 'metrics-port') ?? 0 }) : null
  if (prom) logger.info({ url: prom.url }, 'metrics endpoint')
  try {
    const keyring = strOpt(values.keyring)
    const report = await runPipeline(def, {
      components: loaded.components ?? [], stop: signals.stop, signal: signals.abort, logger, metrics,
      cwd: process.cwd(), ...(keyring ? { keyring } : {}),
    })
    progress.stop()
    // A pipeline that writes its records to stdout gets its report on stderr.
    const out = resolveSinks(def).outputs.some((o) => o.type === 'stdout') ? process.stderr : process.stdout
    if (values.json) out.write(JSON.stringify(report) + '\n')
    else {
      out.write(
        `${report.status} ${report.pipeline}: records in ${report.recordsIn} = delivered ${report.delivered} + dead letters ${report.deadLetters}` +
        `${report.dropped ? ` + dropped ${report.dropped}` : ''} (${report.reconciled ? 'reconciled' : 'NOT RECONCILED'}) in ${(report.durationMs / 1000).toFixed(2)} s\n` +
        report.outputs.map((o) => `  ${o.label}${o.path ? ` ${o.path}` : ''}: ${o.records} records${o.type === 'container' ? `, ${o.commits} commits` : ''}\n`).join('') +
        (report.deadLetterFile ? `  dead letters: ${report.deadLetterFile}\n` : '') + (report.cursor ? `  cursor: ${report.cursor}\n` : ''),
      )
    }
    return report.reconciled ? 0 : 1
  } finally {
    progress.stop()
    await prom?.close()
    signals.dispose()
  }
}
