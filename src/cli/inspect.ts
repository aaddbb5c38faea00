import { inspectContainer } from '../core/container/inspect.js'
import { parse, usage } from './args.js'

export default async function inspect(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } })
  if (positionals.length !== 1) usage('inspect takes one FILE')
  const info = await inspectContainer(positionals[0]!)
  if (values.json) process.stdout.write(JSON.stringify(info) + '\n')
  else {
    const lines = [
      `container ${info.containerId} (MAIF v${info.formatVersion}), created ${new Date(info.createdMs).toISOString()}, ${info.size} bytes`,
      `sessions:`,
      ...info.sessions.map((s) => `  #${s.seq} @${s.offset} ${s.sessionId} ${s.encryption} signer ${s.signerKeyId.slice(0, 16)}… (${s.signerAlg}) by ${s.writer} at ${new Date(s.createdMs).toISOString()}`),
      `blocks:`,
      `  ${'seq'.padStart(6)} ${'type'.padEnd(4)} ${'offset'.padStart(12)} ${'size'.padStart(10)} codec   enc  records label`,
      ...info.blocks.map((b) => `  ${String(b.seq).padStart(6)} ${b.type.padEnd(4)} ${String(b.offset).padStart(12)} ${String(b.size).padStart(10)} ${b.codec.padEnd(7)} ${b.encrypted ? 'yes' : 'no '}  ${String(b.records ?? '-').padStart(7)} ${b.label ?? ''}`),
      `checkpoints:`,
      ...info.checkpoints.map((c) => `  @${c.offset} tree ${c.treeSize} root ${c.root} ${new Date(c.timeMs).toISOString()} key ${c.keyId.slice(0, 16)}…`),
      info.torn ? `torn: ${info.torn}` : `tail ok`,
    ]
    process.stdout.write(lines.join('\n') + '\n')
  }
  return 0
}
