import { recoverContainer, type RecoverResult } from '../core/container/recover.js'
import { parse, strOpt, usage } from './args.js'
import { keyringFrom, pinnedKeys } from './keys.js'
import { auditCli } from './audit-log.js'

function where(offset: number | null, seq: number | null): string {
  return `offset ${offset ?? '-'}${seq === null ? '' : ` (box #${seq})`}`
}

/** What recover found, for a person: the damage, the prefix that verifies, and the valid commits after it. */
function report(r: RecoverResult): string {
  const lines: string[] = []
  if (r.damage) lines.push(`  damage: ${r.damage.code} at ${where(r.damage.offset, r.damage.seq)}: ${r.damage.message}`)
  lines.push(`  verified prefix: bytes 0..${r.keptBytes} of ${r.size} (tree size ${r.treeSize}, up to the last commit before the damage)`)
  if (r.laterCommits.length) {
    lines.push(`  ${r.laterCommits.length} valid commit(s) after it, covering data up to byte ${r.laterCommits[r.laterCommits.length - 1]!.end}:`)
    for (const c of r.laterCommits.slice(0, 10)) lines.push(`    checkpoint at offset ${c.checkpointOffset}, tree size ${c.treeSize}, tail at ${c.tailOffset}`)
    if (r.laterCommits.length > 10) lines.push(`    … and ${r.laterCommits.length - 10} more`)
  }
  return lines.join('\n') + '\n'
}

export default async function recover(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    'dry-run': { type: 'boolean' }, json: { type: 'boolean' }, salvage: { type: 'string' }, pub: { type: 'string', multiple: true }, keyring: { type: 'string' },
  })
  if (positionals.length !== 1) usage('recover takes one FILE')
  const salvage = strOpt(values.salvage)
  if (salvage !== undefined && values['dry-run']) usage('--salvage and --dry-run do not go together (salvage never changes FILE)')
  const keyring = values.keyring === undefined && values.pub === undefined ? undefined : await keyringFrom(values.keyring)
  const pinned = await pinnedKeys(values.pub, keyring)
  const file = positionals[0]!
  const r = await recoverContainer(file, { dryRun: values['dry-run'] === true, ...(salvage === undefined ? {} : { salvage }), ...(pinned.length ? { pinned } : {}) })
  auditCli({
    action: 'container.recover', outcome: r.action === 'refused' ? 'failure' : 'success', category: ['file'], type: [r.action === 'cut' ? 'change' : 'info'], file: { path: file },
    reason: r.action === 'refused' ? 'damage before committed data: nothing cut' : `${r.action}${r.reason ? `: ${r.reason}` : ''}`,
    ...(r.damage ? { error: { code: r.damage.code, message: r.damage.message } } : {}),
    maif: { action: r.action, bytes_cut: r.action === 'cut' ? r.droppedBytes : 0, boxes_cut: r.action === 'cut' ? r.droppedBoxes : 0, kept_bytes: r.keptBytes, tree_size: r.treeSize, saved_to: r.savedTo ?? null },
  })
  if (values.json) process.stdout.write(JSON.stringify(r) + '\n')
  switch (r.action) {
    case 'refused':
      process.stderr.write(
        `maif recover: MAIF_ERR_RECOVERY_REFUSED: ${file} is damaged before committed data, not torn at its end; nothing was changed.\n` + report(r) +
        `recover only cuts torn tails and never deletes data a valid checkpoint covers. To keep what still verifies,\n` +
        `run 'maif recover ${file} --salvage OUT' (it writes a new file and leaves ${file} as it is).\n`,
      )
      return 1
    case 'salvaged':
      if (!values.json) {
        process.stdout.write(`wrote ${r.salvage!.bytes} verified bytes of ${file} (tree size ${r.salvage!.treeSize}) to ${r.salvage!.path}; ${file} was not changed\n`)
        if (r.damage) process.stdout.write(`left out: bytes ${r.keptBytes}..${r.size}\n` + report(r))
      }
      return 0
    case 'clean':
      if (!values.json) process.stdout.write(`${file} is clean: ${r.treeSize} boxes committed, nothing to recover\n`)
      return 0
    default:
      if (!values.json) {
        process.stdout.write(
          `${r.action === 'would-cut' ? 'would cut' : 'cut'} ${r.droppedBytes} bytes (${r.droppedBoxes} uncommitted box(es)) from offset ${r.keptBytes}; ` +
          `${r.treeSize} committed boxes kept\nreason: ${r.reason}\n` +
          (r.savedTo ? `the cut bytes were saved to ${r.savedTo} and recorded in ${r.logFile}\n` : ''),
        )
      }
      return 0
  }
}
