// lint, plus the environment: keyring readable, outputs writable, inputs present. Exit 78 (EX_CONFIG) on failure.
import { MaifError } from '../core/errors.js'
import { parse, strOpt, usage } from './args.js'

export default async function validate(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { set: { type: 'string', multiple: true }, keyring: { type: 'string' } })
  if (positionals.length !== 1) usage('validate takes one PIPELINE file')
  await import('../builtins.js')
  const [{ checkEnvironment }, { loadPipelineFile, parseSetArgs }] = await Promise.all([import('../core/runtime/engine.js'), import('../core/runtime/pipeline-def.js')])
  const problems: string[] = []
  try {
    const loaded = await loadPipelineFile(positionals[0]!, { set: parseSetArgs((values.set ?? []) as string[]) })
    const keyring = strOpt(values.keyring)
    problems.push(...(await checkEnvironment(loaded.definition, { components: loaded.components ?? [], cwd: process.cwd(), ...(keyring ? { keyring } : {}) })))
  } catch (err) {
    problems.push(err instanceof MaifError ? `${err.code}: ${err.message}` : String(err))
  }
  for (const p of problems) process.stdout.write(`error: ${p}\n`)
  if (problems.length === 0) process.stdout.write(`${positionals[0]} is valid and its environment is ready\n`)
  return problems.length === 0 ? 0 : 78
}
