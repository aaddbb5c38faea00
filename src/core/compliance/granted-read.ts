// Reads under a grant, for library callers as for `maif cat --grant`: a block whose classification label the
// grant does not cover (level, compartments, or the grant has expired by the time the block is read) is never
// handed over; the refusal is an `access.denied` audit event, and the read fails with MAIF_ERR_ACCESS_DENIED.
// The grant is checked when each block is released, so a grant that expires during a long read stops it there.
import { AuditLogger, type AuditInput } from '../audit/events.js'
import type { ContainerReader } from '../container/reader.js'
import { verifyContainer, type OpenedBlock, type VerifyOptions, type VerifyResult } from '../container/verify.js'
import type { OpenSourceOptions } from '../format/open-source.js'
import { MaifError } from '../errors.js'
import { denial, parseLabel, type Grant } from './access.js'

export interface GrantOptions {
  grant: Grant
  /** Where refusals are recorded: an AuditLogger (its log's chain), or a function taking the event. */
  audit?: AuditLogger | ((e: AuditInput) => void)
  /** The container's name in the audit events. */
  file?: string
  /** The clock grants expire by (default Date.now). */
  now?: () => number
}

/** Decides and audits each block read under one grant. */
export class AccessGuard {
  readonly #o: GrantOptions
  /** Blocks refused so far. */
  denied = 0

  constructor(o: GrantOptions) {
    this.#o = o
  }

  get grant(): Grant {
    return this.#o.grant
  }

  /** Why the grant does not cover the block (and the refusal audited), or null when it does. */
  refuse(b: Pick<OpenedBlock, 'seq' | 'type' | 'pub'>): string | null {
    const label = typeof b.pub.label === 'string' ? b.pub.label : undefined
    let why: string | null
    try {
      why = denial(this.#o.grant, parseLabel(label), (this.#o.now ?? Date.now)())
    } catch (err) {
      why = (err as Error).message
    }
    if (why === null) return null
    this.denied++
    const event: AuditInput = {
      action: 'access.denied', outcome: 'failure', category: ['file'], type: ['denied'], reason: why, error: { code: 'MAIF_ERR_ACCESS_DENIED' },
      ...(this.#o.file ? { file: { path: this.#o.file } } : {}),
      maif: { seq: b.seq, block_type: b.type, label: label ?? 'UNCLASSIFIED', grant_user: this.#o.grant.user },
    }
    const a = this.#o.audit
    if (a instanceof AuditLogger) a.emit(event)
    else a?.(event)
    return why
  }

  /** Throws MAIF_ERR_ACCESS_DENIED (audited) unless the grant covers the block. */
  check(b: Pick<OpenedBlock, 'seq' | 'type' | 'pub'>): void {
    const why = this.refuse(b)
    if (why !== null) throw new MaifError('MAIF_ERR_ACCESS_DENIED', `block ${b.seq} withheld from ${this.#o.grant.user}: ${why}`, { seq: b.seq })
  }
}

/** One block by random access (ContainerReader.readBlock), only if the grant covers it. */
export async function readBlockWithGrant(reader: ContainerReader, seq: number, access: GrantOptions | AccessGuard): ReturnType<ContainerReader['readBlock']> {
  const guard = access instanceof AccessGuard ? access : new AccessGuard(access)
  const b = await reader.readBlock(seq)
  guard.check(b)
  return b
}

/**
 * verifyContainer under a grant: onBlock receives only the blocks the grant covers; each refused one is audited
 * and withheld, and once the read ends the call throws MAIF_ERR_ACCESS_DENIED naming how many were refused
 * (the blocks handed over before were covered). A container that fails to verify is returned as by
 * verifyContainer, with `denied` counted.
 */
export async function verifyContainerWithGrant(location: string, opts: VerifyOptions & OpenSourceOptions & GrantOptions): Promise<VerifyResult & { denied: number }> {
  const { grant, audit, file, now, onBlock, ...rest } = opts
  const guard = new AccessGuard({ grant, ...(audit ? { audit } : {}), file: file ?? location, ...(now ? { now } : {}) })
  const r = await verifyContainer(location, {
    ...rest,
    onBlock: async (b) => {
      if (guard.refuse(b) !== null) return
      await onBlock?.(b)
    },
  })
  if (guard.denied > 0 && r.ok) throw new MaifError('MAIF_ERR_ACCESS_DENIED', `${guard.denied} block(s) withheld: the grant of ${grant.user} does not cover them (each refusal is audited)`)
  return { ...r, denied: guard.denied }
}
