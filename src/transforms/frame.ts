// Block stage `frame`: how a container gathers records into blocks (by count, bytes and time, one block
// type per block). The first block stage; every stage after it configures the container write path.
import { z } from 'zod'
import { BLOCK_TYPES, isWritableDataType } from '../core/format/format.js'
import { defineTransform } from '../core/runtime/component.js'
import { CLASSIFICATIONS } from '../core/audit/events.js'
import { formatLabel } from '../core/compliance/access.js'
import type { WriteStage } from '../core/container/write-path.js'
import type { FramerOptions } from '../core/container/write/framer.js'

/** Blocks close after this long even on a slow input, so that records become durable promptly. */
export const DEFAULT_BLOCK_MS = 1000

export const frame = defineTransform({
  type: 'frame',
  stage: 'block',
  unique: true,
  description: 'gather records into blocks for a container',
  options: {
    blockRecords: z.int().min(1).describe('close a block after this many records (default 4096, or batching.count)').optional(),
    blockBytes: z.int().min(1).describe('close a block after this many bytes (default 1 MiB, or batching.bytes)').optional(),
    blockMs: z.int().min(0).describe(`close a partial block after this many ms (default ${DEFAULT_BLOCK_MS}, or batching.period; 0: only on count, bytes or end)`).optional(),
    blockType: z
      .string()
      .refine(isWritableDataType, { message: `blockType must be a registered data type (${Object.keys(BLOCK_TYPES).join(', ')}) or a 4-character vendor type starting with 'X'` })
      .meta({ description: 'FourCC data type of the blocks (default from the records: JSON, TEXT, BINA)', examples: Object.keys(BLOCK_TYPES) })
      .optional(),
    agent: z.string().min(1).describe('agent id recorded in each block').optional(),
    classification: z.strictObject({
      level: z.enum(CLASSIFICATIONS),
      compartments: z.array(z.string().regex(/^[A-Z0-9][A-Z0-9_-]{0,31}$/, 'a compartment is 1-32 upper-case letters, digits, _ or -')).optional(),
    }).describe('classification label of every block (authenticated cleartext metadata); readers need a grant that covers it').optional(),
  },
  build(o, ctx): WriteStage {
    const options: FramerOptions = {}
    const records = o.blockRecords ?? ctx.batching.count
    const bytes = o.blockBytes ?? ctx.batching.bytes
    if (records !== undefined) options.blockRecords = records
    if (bytes !== undefined) options.blockBytes = bytes
    options.blockMs = o.blockMs ?? ctx.batching.periodMs ?? DEFAULT_BLOCK_MS
    if (o.blockType) options.type = o.blockType
    if (o.agent) options.agent = o.agent
    if (o.classification) options.label = formatLabel({ level: o.classification.level, compartments: o.classification.compartments ?? [] })
    return { type: 'frame', options }
  },
})
