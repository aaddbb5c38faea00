// What a container and its audit trail show, gathered for `maif compliance report`: a full verification
// (boxes, hash chain, Merkle tree, checkpoint signatures against pinned keys, and with a key every block's
// AEAD tag), the sessions' encryption and algorithms, each block's encryption and classification label, and
// the audit events of its AUDT blocks (released only after the checkpoint covering them verified) and of any
// external audit logs (MAIF_AUDIT_LOG files: hash chain only), each chain checked event by event.
// Nothing here decides a control: report.ts maps this evidence to controls. Memory: one counter per block
// type, label, action and log; events are never held.
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import type { KeyObject } from 'node:crypto'
import { AuditChainVerifier, type AuditChainReport, type AuditEvent } from '../audit/events.js'
import { inspectContainer } from '../container/inspect.js'
import { verifyContainer, type VerifyResult } from '../container/verify.js'
import type { KeyProvider } from '../format/keyring.js'
import { containerAlgorithms } from './container-algorithms.js'
import { cryptoModuleStatus, describeAlgorithms, type AlgorithmUse, type CryptoModuleStatus } from './fips.js'

/** What one source of audit events (the container's AUDT blocks, or one external log) shows. */
export interface AuditEvidence {
  /** Events read and chain-checked. */
  events: number
  chain: AuditChainReport
  /** Events per event.action. */
  actions: Record<string, number>
  /** Events lacking one of AU-3's fields (what, when, where, source, outcome, identity), with the first few named. */
  missingAu3: number
  missingAu3Examples: string[]
  /** access.denied events (reads refused for want of clearance). */
  denied: number
}

export interface ContainerEvidence {
  file: string
  verify: Pick<VerifyResult, 'ok' | 'containerId' | 'blocks' | 'records' | 'checkpoints' | 'sessions' | 'treeSize' | 'root' | 'pinned' | 'decrypted' | 'signers' | 'errors' | 'warnings'>
  sessions: Array<{ sessionId: string; encryption: string; keyProvider: string | null; signerAlg: string | null }>
  /** Data blocks (every type but AUDT) and audit blocks, by encryption and label. */
  blocks: { data: number; dataEncrypted: number; dataLabelled: number; labels: Record<string, number>; audit: number; auditEncrypted: number; types: Record<string, number> }
  algorithms: AlgorithmUse[]
  algorithmNotes: string[]
  /** The container's AUDT blocks; `readable` false when they are encrypted and no key was given. */
  audit: AuditEvidence & { readable: boolean }
  /** External JSONL audit logs (e.g. MAIF_AUDIT_LOG of cat --grant), by path. */
  auditLogs: Array<AuditEvidence & { path: string }>
  module: CryptoModuleStatus
  /** Problems reading the container's structure (inspect), beside verification errors. */
  problems: string[]
}

const AU3_FIELDS: Array<[string, (e: AuditEvent) => unknown]> = [
  ['what (event.action)', (e) => e.event?.action],
  ['when (@timestamp)', (e) => (Number.isFinite(Date.parse(e['@timestamp'])) ? e['@timestamp'] : undefined)],
  ['where (host.name)', (e) => e.host?.name],
  ['source (service.name)', (e) => e.service?.name],
  ['outcome (event.outcome)', (e) => e.event?.outcome],
  ['identity (user.id)', (e) => e.user?.id],
]

/** Checks and counts audit events one at a time (JSONL lines). */
class AuditTally {
  readonly chain = new AuditChainVerifier()
  readonly actions: Record<string, number> = {}
  missingAu3 = 0
  readonly missingAu3Examples: string[] = []
  denied = 0

  line(line: string): void {
    if (line.trim() === '') return
    let e: AuditEvent
    try {
      e = JSON.parse(line) as AuditEvent
    } catch {
      this.chain.add(null)
      return
    }
    this.chain.add(e)
    const action = typeof e?.event?.action === 'string' ? e.event.action : '?'
    this.actions[action] = (this.actions[action] ?? 0) + 1
    if (action === 'access.denied') this.denied++
    const missing = AU3_FIELDS.filter(([, get]) => { const v = get(e); return typeof v !== 'string' || v === '' }).map(([name]) => name)
    if (missing.length > 0) {
      this.missingAu3++
      if (this.missingAu3Examples.length < 3) this.missingAu3Examples.push(`sequence ${String(e?.event?.sequence)}: no ${missing.join(', ')}`)
    }
  }

  result(): AuditEvidence {
    const chain = this.chain.report()
    return { events: chain.events, chain, actions: this.actions, missingAu3: this.missingAu3, missingAu3Examples: this.missingAu3Examples, denied: this.denied }
  }
}

export interface GatherOptions {
  /** Public keys the checkpoints must be signed by (without any, AU-10 cannot be assessed). */
  pinned?: readonly KeyObject[]
  /** Decrypts and authenticates every block, and reads encrypted audit blocks. */
  keyProvider?: KeyProvider
  /** External JSONL audit logs to include. */
  auditLogs?: readonly string[]
  maxBoxBytes?: number
}

export async function gatherEvidence(file: string, o: GatherOptions = {}): Promise<ContainerEvidence> {
  const info = await inspectContainer(file)
  const blocks: ContainerEvidence['blocks'] = { data: 0, dataEncrypted: 0, dataLabelled: 0, labels: {}, audit: 0, auditEncrypted: 0, types: {} }
  for (const b of info.blocks) {
    blocks.types[b.type] = (blocks.types[b.type] ?? 0) + 1
    if (b.type === 'AUDT') {
      blocks.audit++
      if (b.encrypted) blocks.auditEncrypted++
      continue
    }
    blocks.data++
    if (b.encrypted) blocks.dataEncrypted++
    if (b.label !== null && b.label !== '') {
      blocks.dataLabelled++
      blocks.labels[b.label] = (blocks.labels[b.label] ?? 0) + 1
    }
  }
  const algs = containerAlgorithms(info)
  const tally = new AuditTally()
  const v = await verifyContainer(file, {
    ...(o.pinned && o.pinned.length > 0 ? { pinned: o.pinned } : {}),
    ...(o.keyProvider ? { keyProvider: o.keyProvider } : {}),
    ...(o.maxBoxBytes ? { maxBoxBytes: o.maxBoxBytes } : {}),
    onBlock: (b) => {
      if (b.type !== 'AUDT') return
      for (const line of b.data.toString('utf8').split('\n')) tally.line(line)
    },
  })
  const auditLogs: ContainerEvidence['auditLogs'] = []
  for (const path of o.auditLogs ?? []) {
    const t = new AuditTally()
    const lines = createInterface({ input: createReadStream(path, { highWaterMark: 64 * 1024 }), crlfDelay: Infinity })
    for await (const line of lines) t.line(line)
    auditLogs.push({ path, ...t.result() })
  }
  const { ok, containerId, blocks: nBlocks, records, checkpoints, sessions, treeSize, root, pinned, decrypted, signers, errors, warnings } = v
  return {
    file,
    verify: { ok, containerId, blocks: nBlocks, records, checkpoints, sessions, treeSize, root, pinned, decrypted, signers, errors, warnings },
    sessions: info.sessions.map((s) => ({ sessionId: s.sessionId, encryption: s.encryption, keyProvider: s.keyProvider, signerAlg: s.signerAlg })),
    blocks,
    algorithms: describeAlgorithms(algs.ids),
    algorithmNotes: algs.notes,
    audit: { ...tally.result(), readable: blocks.auditEncrypted === 0 || o.keyProvider !== undefined },
    auditLogs,
    module: cryptoModuleStatus(),
    problems: [...info.problems.map((p) => `${p.code} at offset ${p.offset}: ${p.message}`), ...(info.torn ? [info.torn] : [])],
  }
}
