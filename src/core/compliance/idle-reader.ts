// Idle-session limits for long-lived readers (NIST SP 800-53 AC-12 session termination, and the STIG's
// "terminate after a period of inactivity"): a reader that reads nothing for `idleMs` is closed — its file handle
// and the session keys it unwrapped are released — and the closure is audited (`session.idle_timeout`). Any
// read after that fails with MAIF_ERR_SESSION_IDLE: the caller opens a new reader, which re-checks the keys and,
// with readBlockWithGrant, the grant. The timer is unref'd, so an idle reader never keeps a process alive.
import { AuditLogger, type AuditInput } from '../audit/events.js'
import { ContainerReader, type ReaderOptions } from '../container/reader.js'
import { MaifError } from '../errors.js'

export interface IdleLimitOptions {
  /** Inactivity after which the reader is closed, in milliseconds. */
  idleMs: number
  /** Where the idle closure is recorded. */
  audit?: AuditLogger | ((e: AuditInput) => void)
}

export class IdleLimitedReader {
  readonly #reader: ContainerReader
  readonly #o: IdleLimitOptions
  #timer: NodeJS.Timeout | undefined
  #last = Date.now()
  #state: 'open' | 'idle' | 'closed' = 'open'
  #busy = 0

  private constructor(reader: ContainerReader, o: IdleLimitOptions) {
    this.#reader = reader
    this.#o = o
    this.#arm()
  }

  static async open(location: string, opts: ReaderOptions & IdleLimitOptions): Promise<IdleLimitedReader> {
    const { idleMs, audit, ...ro } = opts
    if (!Number.isSafeInteger(idleMs) || idleMs < 1) throw new MaifError('MAIF_ERR_INVALID_OPTION', `idleMs must be a positive integer number of milliseconds, got ${String(idleMs)}`)
    return new IdleLimitedReader(await ContainerReader.open(location, ro), { idleMs, ...(audit ? { audit } : {}) })
  }

  /** The reader, for anything but reads (proofs, entries); fails once the session was closed. */
  get reader(): ContainerReader {
    this.#assertOpen()
    return this.#reader
  }

  get state(): 'open' | 'idle' | 'closed' {
    return this.#state
  }

  /** ContainerReader.readBlock, restarting the idle clock. */
  async readBlock(seq: number): ReturnType<ContainerReader['readBlock']> {
    this.#assertOpen()
    this.#busy++
    try {
      return await this.#reader.readBlock(seq)
    } finally {
      this.#busy--
      this.#last = Date.now()
      this.#arm()
    }
  }

  async close(): Promise<void> {
    if (this.#state === 'open') {
      this.#state = 'closed'
      clearTimeout(this.#timer)
      await this.#reader.close()
    }
  }

  #assertOpen(): void {
    if (this.#state === 'idle') throw new MaifError('MAIF_ERR_SESSION_IDLE', `the reader of ${this.#reader.path} was closed after ${this.#o.idleMs} ms without a read (idle-session limit); open it again`)
    if (this.#state === 'closed') throw new MaifError('MAIF_ERR_SESSION_IDLE', `the reader of ${this.#reader.path} is closed`)
  }

  #arm(): void {
    clearTimeout(this.#timer)
    const wait = Math.max(0, this.#last + this.#o.idleMs - Date.now())
    this.#timer = setTimeout(() => this.#expire(), wait)
    this.#timer.unref()
  }

  #expire(): void {
    if (this.#state !== 'open') return
    if (this.#busy > 0 || Date.now() - this.#last < this.#o.idleMs) {
      this.#arm()
      return
    }
    this.#state = 'idle'
    const event: AuditInput = {
      action: 'session.idle_timeout', outcome: 'success', category: ['session'], type: ['end'], file: { path: this.#reader.path },
      reason: `no read for ${this.#o.idleMs} ms`, maif: { idle_ms: this.#o.idleMs, container_id: this.#reader.containerId.toString('hex') },
      tags: ['nist-800-53:AC-12'],
    }
    const a = this.#o.audit
    if (a instanceof AuditLogger) a.emit(event)
    else a?.(event)
    void this.#reader.close().catch(() => undefined)
  }
}
