import { parse, usage } from './args.js'

export default async function lint(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' }, verbose: { type: 'boolean' } })
  if (positionals.length === 0) usage('lint takes one or more PIPELINE files')
  await import('../builtins.js')
  const { formatIssue, lintPipelineFile } = await import('../core/runtime/pipeline-def.js')
  let errors = 0
  const all = []
  for (const file of positionals) {
    // Info-level issues (what a sink adds, what it leaves uncompressed) are shown with --verbose only.
    const issues = await lintPipelineFile(file, { verbose: values.verbose === true })
    errors += issues.filter((i) => i.severity === 'error').length
    all.push(...issues)
    if (!values.json) for (const i of issues) process.stdout.write(formatIssue(i) + '\n')
  }
  if (values.json) process.stdout.write(JSON.stringify(all) + '\n')
  else if (errors === 0) process.stdout.write(`${positionals.length} pipeline(s) OK\n`)
  return errors === 0 ? 0 : 1
}
