// The audit log file (MAIF_AUDIT_LOG): events appended as JSONL, each fsynced before emit returns, so a
// security-relevant operation is on record before it is reported done. One AuditFileLog is one hash-chained log
// (its events run from sequence 0); the file is opened for each event and closed again, which suits the
// events it takes (one per command, per container session, per key use), never one per record or block.
// A log that cannot be written fails the operation (AU-5): MAIF_ERR_AUDIT.
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs'
import { resolve } from 'node:path'
import { isMaifError, wrapError } from '../errors.js'
import type { KeyProvider, KeyWrap, DataKey } from '../format/keyring.js'
import { AuditLogger, type AuditEvent, type AuditInput, type AuditLoggerOptions } from './events.js'

export class AuditFileLog {
  readonly path: string
  readonly #logger: AuditLogger

  /** `tee` receives each event too, once it is durable in the file. */
  constructor(path: string, opts: Omit<AuditLoggerOptions, 'write'> & { tee?: (e: AuditEvent) => void } = {}) {
    this.path = resolve(path)
    const { tee, ...rest } = opts
    this.#logger = new AuditLogger({ ...rest, write: (e) => { this.#append(e); tee?.(e) } })
  }

  /** The log named by MAIF_AUDIT_LOG, or undefined when it is not set. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env, opts: Omit<AuditLoggerOptions, 'write'> & { tee?: (e: AuditEvent) => void } = {}): AuditFileLog | undefined {
    return env.MAIF_AUDIT_LOG ? new AuditFileLog(env.MAIF_AUDIT_LOG, opts) : undefined
  }

  emit(input: AuditInput): AuditEvent {
    return this.#logger.emit(input)
  }

  #append(e: AuditEvent): void {
    let fd: number | undefined
    try {
      fd = openSync(this.path, 'a', 0o600)
      writeSync(fd, JSON.stringify(e) + '\n')
      fsyncSync(fd)
    } catch (err) {
      throw isMaifError(err) ? err : wrapError('MAIF_ERR_AUDIT', `cannot write the audit log ${this.path} (MAIF_AUDIT_LOG)`, err)
    } finally {
      if (fd !== undefined) closeSync(fd)
    }
  }
}

/**
 * A key provider whose every use is an audit event `key.use`: which provider, which operation, which wrapping
 * keys (their ids, never key material), and the outcome. A provider is used once per container session (a data
 * key generated when a session opens, unwrapped when a reader opens one), so this costs nothing per block.
 */
export function auditedKeyProvider(inner: KeyProvider, emit: (e: AuditInput) => void, file?: string): KeyProvider {
  const event = (operation: string, ok: boolean, wraps: readonly KeyWrap[], err?: unknown): void => {
    const code = err && typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : undefined
    emit({
      action: 'key.use', outcome: ok ? 'success' : 'failure', category: ['iam'], type: ['access'],
      ...(file ? { file: { path: file } } : {}),
      ...(err ? { error: { code: code ?? 'MAIF_ERR_KEY_UNAVAILABLE', message: (err as Error).message } } : {}),
      maif: { key_provider: inner.name, operation, wrapping_key_ids: wraps.map((w) => w.keyId) },
      tags: ['nist-800-53:SC-12', 'nist-800-53:AU-2'],
    })
  }
  return {
    name: inner.name,
    async generateDataKey(context): Promise<DataKey> {
      let dk: DataKey
      try {
        dk = await inner.generateDataKey(context)
      } catch (err) {
        event('generate-data-key', false, [], err)
        throw err
      }
      event('generate-data-key', true, dk.wraps)
      return dk
    },
    async decryptDataKey(kind, wraps, context) {
      try {
        const k = await inner.decryptDataKey(kind, wraps, context)
        event('decrypt-data-key', true, wraps)
        return k
      } catch (err) {
        event('decrypt-data-key', false, wraps, err)
        throw err
      }
    },
  }
}
