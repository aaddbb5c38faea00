// The audit log of the reading commands (verify, cat, recover): when MAIF_AUDIT_LOG names a file, each command
// appends its audit event there (JSONL, one hash-chained log per invocation, fsynced before the command
// returns), so who verified, decrypted or cut what, and with which outcome, is on record. `maif audit FILE`
// verifies it. Without MAIF_AUDIT_LOG nothing is written.
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs'
import { resolve } from 'node:path'
import { AuditLogger, type AuditInput } from '../core/audit/events.js'
import { isMaifError, wrapError } from '../core/errors.js'

/** Appends one event to the MAIF_AUDIT_LOG file, if set. A log that cannot be written fails the command (AU-5). */
export function auditCli(input: AuditInput): void {
  const path = process.env.MAIF_AUDIT_LOG
  if (!path) return
  let fd: number | undefined
  try {
    fd = openSync(resolve(path), 'a', 0o600)
    const file = fd
    new AuditLogger({ write: (e) => { writeSync(file, JSON.stringify(e) + '\n'); fsyncSync(file) } }).emit(input)
  } catch (err) {
    throw isMaifError(err) ? err : wrapError('MAIF_ERR_AUDIT', `cannot write the audit log ${path} (MAIF_AUDIT_LOG)`, err)
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}
