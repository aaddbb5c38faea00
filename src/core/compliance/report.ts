// `maif compliance report`: maps the evidence one container and its audit trail give (evidence.ts) to the
// controls of a framework. Each control is met, not met, or cannot be assessed, always with the evidence or the
// reason. A control is met only when the evidence shows it; what a container cannot show (retention, review,
// account management, key custody, the running system) is listed as cannot-assess with why. The mapping
// works in NIST SP 800-53 rev. 5 controls; the STIG, HIPAA and PCI DSS views name their own requirements and
// say which 800-53 checks they rest on.
import { MaifError } from '../errors.js'
import type { AuditEvidence, ContainerEvidence } from './evidence.js'

export type ControlStatus = 'met' | 'not-met' | 'cannot-assess'

export interface ControlResult {
  id: string
  title: string
  status: ControlStatus
  /** What was found (for met and not-met), or why it cannot be assessed. */
  evidence: string[]
  /** The NIST SP 800-53 checks this control's status is taken from. */
  basis: string[]
}

export const FRAMEWORKS = ['fisma', 'stig', 'hipaa', 'pci-dss'] as const
export type Framework = (typeof FRAMEWORKS)[number]

export interface ComplianceReport {
  framework: Framework
  frameworkTitle: string
  file: string
  containerId: string | null
  /** True when no control is not-met. Cannot-assess controls do not fail the report, but are listed. */
  ok: boolean
  summary: Record<ControlStatus, number>
  controls: ControlResult[]
  /** The controls the report cannot speak to, by id: the honest limit of what a container shows. */
  cannotAssess: string[]
}

type Check = Omit<ControlResult, 'basis'>
const met = (id: string, title: string, evidence: string[]): Check => ({ id, title, status: 'met', evidence })
const notMet = (id: string, title: string, evidence: string[]): Check => ({ id, title, status: 'not-met', evidence })
const unknown = (id: string, title: string, evidence: string[]): Check => ({ id, title, status: 'cannot-assess', evidence })

const plural = (n: number, w: string): string => `${n} ${w}${n === 1 ? '' : 's'}`
const counts = (r: Record<string, number>): string => Object.entries(r).sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k} ×${n}`).join(', ')

function verified(ev: ContainerEvidence): string[] {
  const v = ev.verify
  return [`maif verification ${v.ok ? 'passed' : 'FAILED'}: ${plural(v.sessions, 'session')}, ${plural(v.blocks, 'block')}, ${plural(v.checkpoints, 'signed checkpoint')}, tree size ${v.treeSize}${v.root ? `, root ${v.root}` : ''}`]
}

function verifyErrors(ev: ContainerEvidence): string[] {
  return [...ev.verify.errors.map((e) => `${e.code}${e.offset !== undefined ? ` at offset ${e.offset}` : ''}: ${e.message}`), ...ev.problems]
}

function chainIssues(a: AuditEvidence): string[] {
  return a.chain.issues.slice(0, 5).map((i) => `audit log ${i.logId} sequence ${i.sequence ?? '-'}: ${i.message}`)
}

/** Every audit source the report has, the container's first. */
function auditSources(ev: ContainerEvidence): Array<{ name: string; a: AuditEvidence; signed: boolean }> {
  return [
    ...(ev.audit.readable && ev.blocks.audit > 0 ? [{ name: `the container's ${plural(ev.blocks.audit, 'AUDT block')}`, a: ev.audit, signed: true }] : []),
    ...ev.auditLogs.map((l) => ({ name: `audit log ${l.path}`, a: l as AuditEvidence, signed: false })),
  ]
}

const NO_AUDIT_KEY = 'the audit blocks are encrypted and no keyring was given: pass --keyring DIR to read them'

/** The NIST SP 800-53 rev. 5 checks, each decided from the evidence alone. */
export function nistChecks(ev: ContainerEvidence): Record<string, Check> {
  const v = ev.verify
  const c: Record<string, Check> = {}
  const sources = auditSources(ev)
  const events = sources.reduce((n, s) => n + s.a.events, 0)

  // AU-2 Event logging: security-relevant events are logged.
  {
    const t = 'Event logging'
    if (!ev.audit.readable && ev.blocks.audit > 0 && ev.auditLogs.length === 0) c['AU-2'] = unknown('AU-2', t, [NO_AUDIT_KEY])
    else if (events === 0) c['AU-2'] = notMet('AU-2', t, [ev.blocks.audit === 0 ? 'the container has no audit (AUDT) blocks: it was written without the audit stage' : 'the audit blocks hold no events', ...(ev.auditLogs.length ? ['the audit logs given hold no events'] : [])])
    else c['AU-2'] = met('AU-2', t, sources.filter((s) => s.a.events > 0).map((s) => `${s.name}: ${plural(s.a.events, 'event')} (${counts(s.a.actions)})`))
  }
  // AU-3 Content of audit records: what, when, where, source, outcome, identity on every event.
  {
    const t = 'Content of audit records'
    if (events === 0) c['AU-3'] = (c['AU-2']!.status === 'cannot-assess' ? unknown : notMet)('AU-3', t, [c['AU-2']!.status === 'cannot-assess' ? NO_AUDIT_KEY : 'no audit events to examine'])
    else {
      const bad = sources.filter((s) => s.a.missingAu3 > 0)
      c['AU-3'] = bad.length
        ? notMet('AU-3', t, bad.map((s) => `${s.name}: ${plural(s.a.missingAu3, 'event')} lack AU-3 fields (${s.a.missingAu3Examples.join('; ')})`))
        : met('AU-3', t, [`every one of ${plural(events, 'audit event')} records what (event.action), when (@timestamp), where (host.name), source (service.name), outcome (event.outcome) and identity (user.id)`])
    }
  }
  // AU-9 Protection of audit information (and AU-9(3) cryptographic protection): the audit blocks sit in the
  // signed Merkle tree of a container that verifies against a pinned key, and their hash chain is intact.
  {
    const t = 'Protection of audit information'
    const broken = sources.filter((s) => !s.a.chain.ok)
    if (ev.blocks.audit === 0) c['AU-9'] = ev.auditLogs.length && broken.length === 0
      ? unknown('AU-9', t, ['the container holds no audit blocks; the external audit logs are hash-chained but not signed, which shows tampering only to a reader that trusts the log\'s last event'])
      : notMet('AU-9', t, ['the container holds no audit blocks, so no audit record is protected by its signatures', ...broken.flatMap((s) => chainIssues(s.a))])
    else if (!v.ok) c['AU-9'] = notMet('AU-9', t, [...verified(ev), ...verifyErrors(ev)])
    else if (broken.length) c['AU-9'] = notMet('AU-9', t, broken.flatMap((s) => chainIssues(s.a)))
    else if (!ev.audit.readable) c['AU-9'] = unknown('AU-9', t, [`${plural(ev.blocks.audit, 'audit block')} are covered by the verified checkpoints, but their hash chain could not be read: ${NO_AUDIT_KEY}`])
    else if (!v.pinned) c['AU-9'] = unknown('AU-9', t, ['the checkpoints were checked against the key the file names, not a pinned key: pass --pub FILE or --keyring DIR'])
    else c['AU-9'] = met('AU-9', t, [`${plural(ev.blocks.audit, 'audit block')} (${plural(ev.audit.events, 'event')}) are leaves of the Merkle tree signed by ${v.signers.map((s) => `${s.alg} key ${s.keyId.slice(0, 16)}…`).join(', ')} (pinned)`, `audit hash chain intact: ${ev.audit.chain.logs.map((l) => `log ${l.logId} sequence ${l.first}..${l.last}`).join('; ')}`, ...verified(ev)])
  }
  // AU-10 Non-repudiation: every checkpoint signed by a pinned key, and the signatures verify.
  {
    const t = 'Non-repudiation'
    if (!v.ok) c['AU-10'] = notMet('AU-10', t, [...verified(ev), ...verifyErrors(ev)])
    else if (v.checkpoints === 0) c['AU-10'] = notMet('AU-10', t, ['no signed checkpoint'])
    else if (!v.pinned || v.signers.some((s) => !s.pinned)) c['AU-10'] = unknown('AU-10', t, ['the signatures verify against the key the file names, which proves consistency, not who signed: pin the signer with --pub FILE or --keyring DIR'])
    else c['AU-10'] = met('AU-10', t, [`${plural(v.checkpoints, 'checkpoint')} signed and verified against pinned ${plural(v.signers.length, 'key')}: ${v.signers.map((s) => `${s.alg} ${s.keyId.slice(0, 16)}…`).join(', ')}`, ...verified(ev)])
  }
  // SI-7 Software, firmware and information integrity.
  c['SI-7'] = v.ok
    ? met('SI-7', 'Information integrity', [...verified(ev), 'every box is hash-chained to the one before and a leaf of the signed Merkle tree', ...(v.decrypted ? ['every block\'s AES-GCM tag authenticated'] : [])])
    : notMet('SI-7', 'Information integrity', [...verified(ev), ...verifyErrors(ev)])
  // SC-13 Cryptographic protection: every security function the container uses is approved.
  {
    const t = 'Cryptographic protection'
    const sec = ev.algorithms.filter((a) => a.status !== 'not-security')
    const bad = sec.filter((a) => a.status !== 'approved')
    const list = (xs: typeof sec): string[] => xs.map((a) => `${a.algorithm} (${a.use}): ${a.status}, ${a.reference}${a.note ? ` — ${a.note}` : ''}`)
    const module = `the reading process: OpenSSL ${ev.module.openssl}, FIPS mode ${ev.module.fips ? 'active' : 'not active'} (the container cannot show which module wrote it)`
    if (sec.length === 0) c['SC-13'] = unknown('SC-13', t, ['no security function could be identified in the container'])
    else if (bad.some((a) => a.status === 'not-approved')) c['SC-13'] = notMet('SC-13', t, list(bad))
    else if (bad.length) c['SC-13'] = unknown('SC-13', t, [...list(bad), module])
    else c['SC-13'] = met('SC-13', t, [...list(sec), module])
  }
  // SC-28 Protection of information at rest: every session and every block encrypted.
  {
    const t = 'Protection of information at rest'
    const plainSessions = ev.sessions.filter((s) => s.encryption === 'none')
    const all = ev.blocks.data + ev.blocks.audit
    const enc = ev.blocks.dataEncrypted + ev.blocks.auditEncrypted
    if (ev.sessions.length === 0) c['SC-28'] = notMet('SC-28', t, ['the container has no session'])
    else if (plainSessions.length || enc < all) c['SC-28'] = notMet('SC-28', t, [`${plural(all - enc, 'block')} of ${all} stored in plaintext`, ...plainSessions.map((s) => `session ${s.sessionId} recorded as plaintext (written without encryption)`)])
    else c['SC-28'] = met('SC-28', t, [`all ${plural(all, 'block')} in ${plural(ev.sessions.length, 'session')} are AES-256-GCM encrypted under per-session keys wrapped by ${[...new Set(ev.sessions.map((s) => s.keyProvider ?? 'the keyring'))].join(', ')}`, v.decrypted ? (v.ok ? 'every block was decrypted and its tag authenticated with the key given' : 'decryption with the key given failed: see SI-7') : 'the tags were not checked (no key given; pass --keyring DIR to authenticate every block)'])
  }
  // AC-16 Security and privacy attributes: every data block carries a classification label (authenticated
  // cleartext metadata).
  {
    const t = 'Security and privacy attributes'
    const b = ev.blocks
    if (b.data === 0) c['AC-16'] = unknown('AC-16', t, ['the container has no data blocks'])
    else if (b.dataLabelled < b.data) c['AC-16'] = notMet('AC-16', t, [`${plural(b.data - b.dataLabelled, 'data block')} of ${b.data} carry no classification label${b.dataLabelled ? ` (labelled: ${counts(b.labels)})` : ''}`])
    else c['AC-16'] = met('AC-16', t, [`every one of ${plural(b.data, 'data block')} carries a classification label, bound to it as authenticated data: ${counts(b.labels)}`])
  }
  // AC-3 Access enforcement: labels to enforce, and access decisions on record.
  {
    const t = 'Access enforcement'
    const decisions = sources.filter((s) => s.a.denied > 0)
    if (ev.blocks.dataLabelled === 0) c['AC-3'] = notMet('AC-3', t, ['no block carries a classification label: nothing for a reader\'s grant to enforce beyond possession of the decryption key'])
    else if (decisions.length) c['AC-3'] = met('AC-3', t, [`classification labels present (${counts(ev.blocks.labels)})`, ...decisions.map((s) => `${s.name}: ${plural(s.a.denied, 'refused block read')} (access.denied: the reader's grant did not cover the label)`)])
    else c['AC-3'] = unknown('AC-3', t, [`classification labels present (${counts(ev.blocks.labels)}), but no access decision is on record: readers enforce them with a grant (maif cat --grant, MAIF_AUDIT_LOG); pass that log with --audit-log FILE`])
  }
  // What a container cannot show.
  const outside = (id: string, title: string, why: string): void => { c[id] = unknown(id, title, [why]) }
  outside('AU-4', 'Audit log storage capacity', 'storage capacity is a property of the system that keeps the container, not of the container')
  outside('AU-5', 'Response to audit logging process failures', 'maif fails a command whose audit event cannot be written, but a container cannot show that no event was ever lost before it')
  outside('AU-6', 'Audit record review, analysis and reporting', 'review is an organisational process; the report only shows the records exist')
  outside('AU-11', 'Audit record retention', 'retention depends on where the container is kept (e.g. S3 Object Lock), which the file cannot show')
  outside('AC-2', 'Account management', 'user.id names the identity of each event; the accounts themselves are managed elsewhere')
  outside('AC-12', 'Session termination', 'idle limits of readers are a property of the running system')
  outside('IA-5', 'Authenticator management', 'the container cannot show how its signing and wrapping keys are protected (keyring passphrase, KMS key policy)')
  outside('SC-12', 'Cryptographic key establishment and management', 'key custody and rotation happen in the keyring or KMS, outside the container')
  outside('SC-8', 'Transmission confidentiality and integrity', 'a container at rest shows nothing about how it was transmitted')
  return c
}

interface MappedControl { id: string; title: string; basis: string[] }

const FISMA: MappedControl[] = [
  'AU-2', 'AU-3', 'AU-9', 'AU-10', 'SI-7', 'SC-13', 'SC-28', 'AC-3', 'AC-16', 'AU-4', 'AU-5', 'AU-6', 'AU-11', 'AC-2', 'AC-12', 'IA-5', 'SC-8', 'SC-12',
].map((id) => ({ id, title: '', basis: [id] }))

// DISA Application Security and Development STIG: the rules whose ids the research notes confirm are named;
// others are given by the NIST SP 800-53 control their CCIs map to.
const STIG: MappedControl[] = [
  { id: 'AU-2 (ASD STIG audit generation rules)', title: 'The application generates audit records for security-relevant events', basis: ['AU-2'] },
  { id: 'V-222474, V-222476, V-222477 (AU-3)', title: 'Audit records show the component, the outcome and the identity of the user or process', basis: ['AU-3'] },
  { id: 'V-222507 (AU-9(3))', title: 'Cryptographic mechanisms protect the integrity of audit information', basis: ['AU-9'] },
  { id: 'AU-10 (CCI via NIST SP 800-53)', title: 'Non-repudiation of actions', basis: ['AU-10'] },
  { id: 'SC-13 (CCI via NIST SP 800-53)', title: 'FIPS-validated cryptography where cryptography is required', basis: ['SC-13'] },
  { id: 'SC-28 (CCI via NIST SP 800-53)', title: 'Protection of information at rest', basis: ['SC-28'] },
  { id: 'AC-3 (CCI via NIST SP 800-53)', title: 'Access enforcement by approved authorizations', basis: ['AC-3', 'AC-16'] },
  { id: 'SI-7 (CCI via NIST SP 800-53)', title: 'Integrity of information', basis: ['SI-7'] },
  { id: 'V-222536..V-222540 (IA-5(1))', title: 'Passwords of 15 characters with upper, lower, digit and special characters', basis: ['IA-5'] },
  { id: 'AU-4, AU-5 (CCI via NIST SP 800-53)', title: 'Audit storage capacity and response to audit failures', basis: ['AU-4', 'AU-5'] },
  { id: 'AC-12 (CCI via NIST SP 800-53)', title: 'Session termination after inactivity', basis: ['AC-12'] },
]

// HIPAA Security Rule, technical safeguards (45 CFR 164.312).
const HIPAA: MappedControl[] = [
  { id: '164.312(a)(1)', title: 'Access control: allow access only to persons or programs granted access rights', basis: ['AC-3', 'AC-16'] },
  { id: '164.312(a)(2)(iv)', title: 'Encryption and decryption of ePHI (addressable)', basis: ['SC-28', 'SC-13'] },
  { id: '164.312(b)', title: 'Audit controls: record and examine activity in systems that contain ePHI', basis: ['AU-2', 'AU-3', 'AU-9'] },
  { id: '164.312(c)(1)', title: 'Integrity: protect ePHI from improper alteration or destruction', basis: ['SI-7'] },
  { id: '164.312(c)(2)', title: 'Mechanism to authenticate ePHI (addressable)', basis: ['SI-7', 'AU-10'] },
  { id: '164.312(d)', title: 'Person or entity authentication', basis: ['IA-5', 'AC-2'] },
  { id: '164.312(e)(1)', title: 'Transmission security', basis: ['SC-8'] },
  { id: '164.316(b)(2)(i)', title: 'Retention of documentation for six years', basis: ['AU-11'] },
]

// PCI DSS v4.0 requirements.
const PCI: MappedControl[] = [
  { id: '3.5.1', title: 'Stored account data is rendered unreadable (strong cryptography)', basis: ['SC-28', 'SC-13'] },
  { id: '3.6/3.7', title: 'Cryptographic keys protecting stored account data are managed and protected', basis: ['SC-12', 'IA-5'] },
  { id: '7.2', title: 'Access to system components and data is appropriately defined and assigned', basis: ['AC-3', 'AC-16'] },
  { id: '8.3.6', title: 'Passwords/passphrases meet minimum complexity', basis: ['IA-5'] },
  { id: '10.2.1', title: 'Audit logs are enabled and active', basis: ['AU-2'] },
  { id: '10.2.2', title: 'Audit logs record user, event type, date and time, success or failure, origin, affected data', basis: ['AU-3'] },
  { id: '10.3.2', title: 'Audit log files are protected to prevent modification', basis: ['AU-9'] },
  { id: '10.3.4', title: 'Change-detection mechanisms on audit logs', basis: ['AU-9', 'SI-7'] },
  { id: '10.5.1', title: 'Audit log history is retained for at least 12 months', basis: ['AU-11'] },
  { id: '11.5.2', title: 'Change-detection mechanism alerts on unauthorized modification of critical files', basis: ['SI-7'] },
]

const TITLES: Record<Framework, string> = {
  fisma: 'FISMA: NIST SP 800-53 rev. 5 controls',
  stig: 'DISA Application Security and Development STIG (rules by id where known, else by their NIST SP 800-53 control)',
  hipaa: 'HIPAA Security Rule technical safeguards (45 CFR 164.312)',
  'pci-dss': 'PCI DSS v4.0 requirements',
}

const MAPS: Record<Framework, MappedControl[]> = { fisma: FISMA, stig: STIG, hipaa: HIPAA, 'pci-dss': PCI }

/** A control resting on several checks: not met if any is not met, met only if all are met. */
function combine(m: MappedControl, checks: Record<string, Check>): ControlResult {
  const parts = m.basis.map((b) => checks[b]!)
  let status: ControlStatus = parts.some((p) => p.status === 'not-met') ? 'not-met' : parts.every((p) => p.status === 'met') ? 'met' : 'cannot-assess'
  // Never met on nothing: a check that found no evidence cannot vouch for its control.
  if (status === 'met' && parts.some((p) => p.evidence.length === 0)) status = 'cannot-assess'
  const evidence = parts.length === 1 ? parts[0]!.evidence : parts.flatMap((p) => p.evidence.map((e) => `${p.id} ${p.status}: ${e}`))
  return { id: m.id, title: m.title || parts[0]!.title, status, evidence, basis: m.basis }
}

export function complianceReport(framework: string, ev: ContainerEvidence): ComplianceReport {
  if (!(FRAMEWORKS as readonly string[]).includes(framework)) throw new MaifError('MAIF_ERR_INVALID_OPTION', `unknown framework '${framework}' (known: ${FRAMEWORKS.join(', ')})`)
  const f = framework as Framework
  const checks = nistChecks(ev)
  const controls = MAPS[f].map((m) => combine(m, checks))
  const summary: Record<ControlStatus, number> = { met: 0, 'not-met': 0, 'cannot-assess': 0 }
  for (const c of controls) summary[c.status]++
  return {
    framework: f, frameworkTitle: TITLES[f], file: ev.file, containerId: ev.verify.containerId,
    ok: summary['not-met'] === 0, summary, controls, cannotAssess: controls.filter((c) => c.status === 'cannot-assess').map((c) => c.id),
  }
}
