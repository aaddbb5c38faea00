import { inspectContainer, type InspectInfo } from '../core/container/inspect.js'
import { parse, usage } from './args.js'

/** An ISO date for a Unix-ms value from the file, or what the value was when it is not a date. */
function isoTime(ms: number | null): string {
  if (ms === null) return 'no time'
  const d = new Date(ms)
  return Number.isNaN(d.getTime()) ? `invalid time (${ms})` : d.toISOString()
}

const short = (id: string | null): string => (id === null ? '(none)' : `${id.slice(0, 16)}…`)

/** The human description of a container; total over any InspectInfo. */
export function formatInspect(info: InspectInfo): string {
  const lines = [
    `container ${info.containerId || '(no file header)'} (MAIF v${info.formatVersion}), created ${isoTime(info.createdMs)}, ${info.size} bytes`,
    `sessions:`,
    ...info.sessions.map((s) => `  #${s.seq} @${s.offset} ${s.sessionId} ${s.encryption} signer ${short(s.signerKeyId)} (${s.signerAlg ?? 'unknown alg'}) by ${s.writer ?? '(unnamed)'} at ${isoTime(s.createdMs)}`),
    `blocks:`,
    `  ${'seq'.padStart(6)} ${'type'.padEnd(4)} ${'offset'.padStart(12)} ${'size'.padStart(10)} codec   enc  records label`,
    ...info.blocks.map((b) => `  ${String(b.seq).padStart(6)} ${b.type.padEnd(4)} ${String(b.offset).padStart(12)} ${String(b.size).padStart(10)} ${b.codec.padEnd(7)} ${b.encrypted ? 'yes' : 'no '}  ${String(b.records ?? '-').padStart(7)} ${b.label ?? ''}`),
    `checkpoints:`,
    ...info.checkpoints.map((c) => `  @${c.offset} tree ${c.treeSize} root ${c.root} ${isoTime(c.timeMs)} key ${short(c.keyId)}`),
    ...(info.problems.length ? ['problems (boxes that could not be parsed):', ...info.problems.map((p) => `  @${p.offset} ${p.type ?? '?'} #${p.seq ?? '-'}: ${p.code}: ${p.message}`)] : []),
    info.torn ? `torn: ${info.torn}` : `tail ok`,
  ]
  return lines.join('\n') + '\n'
}

export default async function inspect(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } })
  if (positionals.length !== 1) usage('inspect takes one FILE')
  const info = await inspectContainer(positionals[0]!)
  process.stdout.write(values.json ? JSON.stringify(info) + '\n' : formatInspect(info))
  return 0
}
