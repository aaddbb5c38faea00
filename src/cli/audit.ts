// `maif audit FILE`: lists and verifies an audit trail. FILE is a container (its AUDT blocks, read only after
// the signed checkpoint covering them verified, so the trail is checked by the same Merkle tree, chain and
// signatures as the data) or a JSONL audit log (hash chain only). Each log's sequence and hash chain are then
// checked event by event. Exit 0 only when the container and every chain verify.
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { AuditChainVerifier, type AuditChainReport, type AuditEvent } from '../core/audit/events.js'
import { verifyContainer, type VerifyResult } from '../core/container/verify.js'
import { MaifError } from '../core/errors.js'
import { parse, strOpt, usage, writeOut } from './args.js'
import { isContainer, READ_KEY_OPTIONS, readKeys } from './container-args.js'

/** --since: an ISO 8601 time, or a duration back from now (30m, 24h, 7d). */
export function sinceOpt(v: string | undefined, now = Date.now()): number | undefined {
  if (v === undefined) return undefined
  const rel = /^(\d+)(s|m|h|d)$/.exec(v)
  if (rel) return now - Number(rel[1]) * { s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[rel[2] as 's' | 'm' | 'h' | 'd']
  const t = Date.parse(v)
  if (!Number.isFinite(t)) usage(`--since takes an ISO 8601 time or a duration such as 24h, got '${v}'`)
  return t
}

/** --action: an exact action, or a prefix ending in '*' (container.*). */
function actionMatcher(v: string | undefined): (a: string) => boolean {
  if (v === undefined) return () => true
  return v.endsWith('*') ? (a) => a.startsWith(v.slice(0, -1)) : (a) => a === v
}

export default async function audit(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    ...READ_KEY_OPTIONS, json: { type: 'boolean' }, since: { type: 'string' }, action: { type: 'string' },
  })
  if (positionals.length !== 1) usage('audit takes one FILE')
  const file = positionals[0]!
  const since = sinceOpt(strOpt(values.since))
  const matches = actionMatcher(strOpt(values.action))
  const chain = new AuditChainVerifier()
  const listed: AuditEvent[] = []
  const out = process.stdout
  const take = async (line: string): Promise<void> => {
    if (line.trim() === '') return
    let e: AuditEvent
    try {
      e = JSON.parse(line) as AuditEvent
    } catch {
      chain.add(null)
      return
    }
    chain.add(e)
    if (!matches(String(e.event?.action)) || (since !== undefined && !(Date.parse(e['@timestamp']) >= since))) return
    if (values.json) listed.push(e)
    else await writeOut(out, `${String(e.event.sequence).padStart(6)} ${e['@timestamp']} ${e.event.action} ${e.event.outcome} user=${e.user?.id ?? '-'} ${e.labels?.classification ?? ''}${e.event.reason ? ` reason="${e.event.reason}"` : ''}${e.error ? ` error=${e.error.code}` : ''}\n`)
  }

  let container: VerifyResult | undefined
  if (await isContainer(file)) {
    const { keyring, pinned, maxBoxBytes } = await readKeys(values)
    if (pinned.length === 0) usage('audit needs the signer pinned: --pub FILE or --keyring DIR (and the keyring to read encrypted audit blocks)')
    container = await verifyContainer(file, {
      pinned, ...(keyring ? { keyProvider: keyring } : {}), ...(maxBoxBytes ? { maxBoxBytes } : {}),
      onBlock: async (b) => {
        if (b.type !== 'AUDT') return
        for (const line of b.data.toString('utf8').split('\n')) await take(line)
      },
    })
    if (container.ok && !container.decrypted && container.sessions > 0 && chain.report().events === 0 && !keyring) {
      throw new MaifError('MAIF_ERR_KEY_UNAVAILABLE', 'the audit blocks are encrypted: pass --keyring DIR to read them')
    }
  } else {
    const lines = createInterface({ input: createReadStream(file, { highWaterMark: 64 * 1024 }), crlfDelay: Infinity })
    for await (const line of lines) await take(line)
  }
  const report: AuditChainReport = chain.report()
  const ok = report.ok && (container?.ok ?? true)
  if (values.json) {
    await writeOut(out, JSON.stringify({ ok, file, container: container ? { ok: container.ok, treeSize: container.treeSize, root: container.root, errors: container.errors } : null, chain: report, events: listed }) + '\n')
  } else {
    const cont = container ? (container.ok ? `; container verified (tree size ${container.treeSize})` : '; CONTAINER FAILED') : ''
    await writeOut(out,
      `${ok ? 'OK' : 'FAILED'} ${file}: ${report.events} audit events in ${report.logs.length} log(s)${cont}\n` +
      (container?.errors ?? []).map((e) => `error ${e.code} at offset ${e.offset ?? '-'} seq ${e.seq ?? '-'}: ${e.message}\n`).join('') +
      report.issues.map((i) => `audit chain ${i.logId} seq ${i.sequence ?? '-'}: ${i.message}\n`).join(''))
  }
  return ok ? 0 : 1
}
