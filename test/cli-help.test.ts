// `maif COMMAND --help` (and -h, and `maif help COMMAND`) prints that command's usage on stdout and exits 0.
import t from 'tap'
import { maif } from './helpers/cli.js'

const COMMANDS = ['keygen', 'pack', 'inspect', 'verify', 'cat', 'recover', 'run', 'lint', 'validate', 'schema']

t.test('every command answers --help with its own usage and exit 0', async (t) => {
  const results = await Promise.all(COMMANDS.map((c) => maif([c, '--help'])))
  COMMANDS.forEach((c, i) => {
    const r = results[i]!
    t.equal(r.code, 0, `${c} --help exits 0 (${r.stderr.trim()})`)
    t.match(r.stdout, new RegExp(`^usage: maif ${c}\\b`), `${c} --help starts with its own usage line`)
    t.equal(r.stderr, '', `${c} --help writes nothing on stderr`)
    for (const other of COMMANDS.filter((o) => o !== c && !o.startsWith(c) && !c.startsWith(o))) {
      t.notMatch(r.stdout, new RegExp(`usage: maif ${other}\\b`), `${c} --help does not print the usage of ${other}`)
    }
  })
})

t.test('-h and `maif help COMMAND` are the same; the flags of the command are described', async (t) => {
  const long = await maif(['cat', '--help'])
  const short = await maif(['cat', '-h'])
  const help = await maif(['help', 'cat'])
  t.equal(short.code, 0)
  t.equal(help.code, 0)
  t.equal(short.stdout, long.stdout)
  t.equal(help.stdout, long.stdout)
  for (const flag of ['--keyring', '--type', '--seq', '--jsonl']) t.match(long.stdout, flag, `cat --help describes ${flag}`)
  const verify = await maif(['verify', '--help'])
  for (const flag of ['--pub', '--keyring', '--witness', '--json']) t.match(verify.stdout, flag, `verify --help describes ${flag}`)
})

t.test('--help wins over missing arguments; unknown commands and bad flags are still usage errors', async (t) => {
  const r = await maif(['pack', '--help', '--format', 'xml'])
  t.equal(r.code, 0, 'help is printed even when the other arguments are wrong')
  const unknown = await maif(['frobnicate', '--help'])
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, /MAIF_ERR_USAGE: unknown command 'frobnicate'/)
  const helpUnknown = await maif(['help', 'frobnicate'])
  t.equal(helpUnknown.code, 2)
  const bad = await maif(['verify', '--frobnicate', 'x.maif'])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /MAIF_ERR_USAGE/)
  t.match(bad.stderr, /usage: maif verify/, 'a usage error shows the usage of that command')
  const top = await maif(['--help'])
  t.equal(top.code, 0)
  for (const c of COMMANDS) t.match(top.stdout, new RegExp(`^  ${c}\\b`, 'm'), `the overview lists ${c}`)
})
