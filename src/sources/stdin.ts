// Source `stdin`: JSONL or text lines from standard input. A graceful stop interrupts a pending read, so
// an idle stdin never holds a SIGTERM back.
import { z } from 'zod'
import { defineSource } from '../core/runtime/component.js'
import { readLines } from '../core/runtime/line-reader.js'
import type { Batch, SourceInstance } from '../core/runtime/types.js'

export const stdinSource = defineSource({
  type: 'stdin',
  description: 'read JSONL or text lines from standard input',
  options: {
    format: z.enum(['jsonl', 'text']).describe('jsonl: one JSON record per line; text: one text record per line'),
    maxLineLength: z.int().min(1).describe('longest accepted line in bytes; longer lines are dead-lettered').optional(),
  },
  build(o, ctx): SourceInstance {
    const stats = { lines: 0, accepted: 0, rejected: 0, bytes: 0 }
    const input = process.stdin
    async function* batches(): AsyncGenerator<Batch> {
      if (ctx.stop.aborted) return
      const lines = readLines('-', o.format === 'jsonl', o.maxLineLength ?? 16 << 20, 1 << 20, o.format === 'jsonl' ? ctx.pool() : null, stats,
          (r) => ctx.deadLetter({ code: r.code, reason: r.reason, raw: r.raw, ...(r.truncated ? { truncated: true } : {}), source: { file: '-', line: r.line } }),
          { offset: 0, line: 0, input, stop: ctx.stop })
        for await (const b of lines) {
          // After a stop the reader ends at once, handing on what it already took from stdin.
          yield { kind: 'lines', format: o.format === 'jsonl' ? 'json' : 'text', data: b.data, count: b.count, ack: null }
        }
    }
    return { batches, stats: () => ({ records: stats.lines, bytes: stats.bytes, files: 1 }) }
  },
})
