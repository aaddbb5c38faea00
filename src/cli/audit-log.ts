// The audit log of the reading commands (verify, cat, recover): when MAIF_AUDIT_LOG names a file, each command
// appends its audit event there (JSONL, one hash-chained log per invocation, fsynced before the command
// returns), so who verified, decrypted or cut what, and with which outcome, is on record. `maif audit FILE`
// verifies it. Without MAIF_AUDIT_LOG nothing is written.
import { AuditFileLog, auditedKeyProvider } from '../core/audit/audit-file.js'
import type { KeyProvider } from '../core/format/keyring.js'
import type { AuditInput } from '../core/audit/events.js'

let log: AuditFileLog | undefined | null = null

/** Appends one event to the MAIF_AUDIT_LOG file, if set. A log that cannot be written fails the command (AU-5). */
export function auditCli(input: AuditInput): void {
  if (log === null) log = AuditFileLog.fromEnv() // one log (one chain) per invocation
  log?.emit(input)
}

/** The key provider, auditing each data-key use (key.use) when MAIF_AUDIT_LOG is set. */
export function auditKeys<K extends KeyProvider | undefined>(keys: K, file: string): K | KeyProvider {
  return keys && process.env.MAIF_AUDIT_LOG ? auditedKeyProvider(keys, auditCli, file) : keys
}
