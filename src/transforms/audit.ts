// Transform `audit`: writes audit events beside the records, as `AUDT` blocks of the same container chain
// (so one signed checkpoint covers data and audit, and one `maif verify` checks both). For each batch it
// emits a `records.ingest` event (how many records, the SHA-256 of their bytes; never their content), and
// before the first one a `pipeline.start` event (pipeline, FIPS state, OpenSSL version). The events go to
// every output as derived records, so SIEM sinks in the same fan-out receive them too.
import { createHash } from 'node:crypto'
import { z } from 'zod'
import { AuditLogger, CLASSIFICATIONS, type AuditEvent } from '../core/audit/events.js'
import { defineTransform } from '../core/runtime/component.js'
import type { Batch, LinesBatch } from '../core/runtime/types.js'

function digest(b: Batch): string {
  const h = createHash('sha256')
  if (b.kind === 'lines') h.update(b.data)
  else for (const p of b.pieces) h.update(p.data)
  return h.digest('hex')
}

export const audit = defineTransform({
  type: 'audit',
  description: 'write audit events (ECS, hash-chained) beside the records, as AUDT blocks',
  options: {
    user: z.string().min(1).optional().describe('user.id of the events (default MAIF_USER, else the OS user)'),
    classification: z.enum(CLASSIFICATIONS).optional().describe('classification label of the events (default UNCLASSIFIED)'),
    tags: z.array(z.string().min(1)).optional().describe('framework tags added to every event, e.g. pci-dss:10.2'),
  },
  build(o, ctx) {
    let pending: AuditEvent[] = []
    const logger = new AuditLogger({
      ...(o.user ? { user: o.user } : {}), ...(o.classification ? { classification: o.classification } : {}), ...(o.tags ? { tags: o.tags } : {}),
      write: (e) => { pending.push(e) },
    })
    let started = false
    return {
      transform(b: Batch): Batch[] {
        if (b.derived || b.count === 0) return [b]
        if (!started) {
          started = true
          logger.emit({ action: 'pipeline.start', outcome: 'success', category: ['process'], type: ['start'], maif: { outputs: ctx.outputs.map((x) => `${x.type}:${x.label}`), openssl: process.versions.openssl, stage: ctx.label } })
        }
        logger.emit({ action: 'records.ingest', outcome: 'success', category: ['database'], type: ['creation'], maif: { records: b.count, sha256: digest(b), format: b.format } })
        const events = pending
        pending = []
        const data = Buffer.from(events.map((e) => JSON.stringify(e) + '\n').join(''))
        // Tied to the last record of the batch: the batch is acknowledged only once its audit events are durable too.
        const out: LinesBatch = { kind: 'lines', format: 'json', data, count: events.length, ack: b.ack, derived: true, blockType: 'AUDT', origin: new Uint32Array(events.length).fill(b.origin ? b.origin[b.count - 1]! : b.count - 1) }
        return [b, out]
      },
    }
  },
})
