import { recoverContainer } from '../core/container/recover.js'
import { parse, usage } from './args.js'

export default async function recover(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { 'dry-run': { type: 'boolean' }, json: { type: 'boolean' } })
  if (positionals.length !== 1) usage('recover takes one FILE')
  const r = await recoverContainer(positionals[0]!, { dryRun: values['dry-run'] === true })
  if (values.json) process.stdout.write(JSON.stringify(r) + '\n')
  else if (r.droppedBytes === 0) process.stdout.write(`${r.path} is clean: ${r.treeSize} boxes committed, nothing to recover\n`)
  else {
    process.stdout.write(
      `${values['dry-run'] ? 'would cut' : 'cut'} ${r.droppedBytes} bytes (${r.droppedBoxes} uncommitted box(es)) from offset ${r.keptBytes}; ` +
      `${r.treeSize} committed boxes kept\nreason: ${r.reason}\n${r.logFile ? `recorded in ${r.logFile}\n` : ''}`,
    )
  }
  return 0
}
