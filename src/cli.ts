#!/usr/bin/env node
// The maif command line. Exit codes: 0 success, 1 verification or integrity failure, 2 usage or I/O error.
// Each command is its own module under cli/, loaded only when it runs: verify, cat and inspect never load
// the pipeline engine (zod, yaml, pino, ajv, …), so they start fast.
import { MaifError, wrapError, type ErrorCode } from './core/errors.js'
import { requireFips } from './core/format/signing.js'
import { commandUsage, setCommand, usage, USAGE, wantsHelp } from './cli/args.js'
import { capYoungGeneration } from './cli/young-generation.js'

// The AWS SDK warns on every Node 20 start that its future releases need Node 22. It is not about anything
// maif does, so the SDK's own switch turns that one warning off (unless the user set it); other warnings stay.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

type Command = () => Promise<{ default: (args: string[]) => Promise<number> }>

const COMMANDS: Record<string, Command> = {
  keygen: () => import('./cli/keygen.js'),
  pack: () => import('./cli/pack.js'),
  inspect: () => import('./cli/inspect.js'),
  verify: () => import('./cli/verify.js'),
  cat: () => import('./cli/cat.js'),
  recover: () => import('./cli/recover.js'),
  run: () => import('./cli/run.js'),
  lint: () => import('./cli/lint.js'),
  validate: () => import('./cli/validate.js'),
  schema: () => import('./cli/schema.js'),
  pubkey: () => import('./cli/pubkey.js'),
  search: () => import('./cli/search.js'),
  index: () => import('./cli/index-cmd.js'),
  audit: () => import('./cli/audit.js'),
  compliance: () => import('./cli/compliance.js'),
}

// Exit 2: usage, environment and I/O problems (the input or the setup is wrong, not the data). One code a line.
const USAGE_CODES = new Set<ErrorCode>([
  'MAIF_ERR_NO_SPACE',
  'MAIF_ERR_LOCKED',
  'MAIF_ERR_SIGNER_MISMATCH',
  'MAIF_ERR_PLAINTEXT_APPEND',
  'MAIF_ERR_USAGE',
  'MAIF_ERR_INVALID_OPTION',
  'MAIF_ERR_IO',
  'MAIF_ERR_KEYRING',
  'MAIF_ERR_KEY_UNAVAILABLE',
  'MAIF_ERR_KEYRING_PASSPHRASE',
  'MAIF_ERR_PASSPHRASE_POLICY',
  'MAIF_ERR_PIPELINE_DEF',
  'MAIF_ERR_PATH_CONFLICT',
  'MAIF_ERR_ENV',
  'MAIF_ERR_FIPS',
  // A key service that cannot be reached or refuses the caller is an environment problem, like a missing keyring;
  // a wrapped key KMS cannot decrypt (MAIF_ERR_KMS_INVALID_CIPHERTEXT) is an integrity failure: exit 1.
  'MAIF_ERR_KMS_ACCESS_DENIED',
  'MAIF_ERR_KMS_KEY_NOT_FOUND',
  'MAIF_ERR_KMS_KEY_DISABLED',
  'MAIF_ERR_KMS_KEY_USAGE',
  'MAIF_ERR_KMS_UNREACHABLE',
  'MAIF_ERR_SEARCH',
  'MAIF_ERR_EMBEDDER_UNAVAILABLE',
  // The wrong model directory for a query, or a model service answering nonsense: the setup, not the container.
  'MAIF_ERR_EMBEDDER_MISMATCH',
  'MAIF_ERR_EMBEDDER_RESPONSE',
  // S3 errors that are about the setup or the object named, not the data in it.
  'MAIF_ERR_S3',
  'MAIF_ERR_S3_URL',
  'MAIF_ERR_S3_NOT_FOUND',
  'MAIF_ERR_S3_ACCESS',
  'MAIF_ERR_S3_CHANGED',
  'MAIF_ERR_S3_EXISTS',
  'MAIF_ERR_S3_UPLOAD',
])

// `maif cat … | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0)
  throw err
})

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv
  if (cmd === undefined || ((cmd === '--help' || cmd === '-h' || cmd === 'help') && rest.length === 0)) {
    process.stdout.write(USAGE + '\n')
    return cmd === undefined ? 2 : 0
  }
  // `maif help COMMAND` and `maif COMMAND --help`: that command's usage, exit 0.
  const helpFor = cmd === 'help' ? rest[0]! : wantsHelp(rest) ? cmd : undefined
  const load = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined
  try {
    if (helpFor !== undefined) {
      const text = commandUsage(helpFor)
      if (text === undefined || !Object.hasOwn(COMMANDS, helpFor)) usage(`unknown command '${helpFor}'`)
      process.stdout.write(text + '\n')
      return 0
    }
    if (!load) usage(`unknown command '${cmd}'`)
    setCommand(cmd)
    capYoungGeneration()
    if (process.env.MAIF_FIPS === '1') requireFips()
    return await (await load()).default(rest)
  } catch (err) {
    const e = err instanceof MaifError ? err : wrapError('MAIF_ERR_IO', 'unexpected failure', err)
    process.stderr.write(`maif ${cmd}: ${e.code}: ${e.message}\n`)
    return USAGE_CODES.has(e.code) ? 2 : 1
  }
}

process.exitCode = await main(process.argv.slice(2))
// For memory tests and benchmarks: the peak RSS of this process, on stderr, when asked.
if (process.env.MAIF_PRINT_MAXRSS) process.stderr.write(`maif: maxrss_kib=${process.resourceUsage().maxRSS}\n`)
