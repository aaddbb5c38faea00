// Transform `validate-json`: records that do not match a JSON Schema are dead-lettered with the validator's
// reason. Without a schema it passes records on (a jsonl source has already checked each line is JSON).
import { createRequire } from 'node:module'
import type * as AjvLib from 'ajv'
import { z } from 'zod'
import { MaifError } from '../core/errors.js'
import { defineTransform } from '../core/runtime/component.js'
import { mapRecords } from '../core/runtime/record-fns.js'
import type { Batch } from '../core/runtime/types.js'

export const validateJson = defineTransform({
  type: 'validate-json',
  description: 'dead-letter JSON records that do not match a JSON Schema',
  options: {
    schema: z.record(z.string(), z.unknown()).describe('JSON Schema each record must match; records that do not are dead-lettered').optional(),
  },
  build(o, ctx) {
    if (o.schema === undefined) return { transform: (b: Batch) => [b] }
    let validate
    try {
      // ajv is loaded only when a schema is given: it took some 17 ms of every run's start-up (it is CommonJS, so
      // requiring it gives the module an import would).
      const { Ajv } = createRequire(import.meta.url)('ajv') as typeof AjvLib
      validate = new Ajv({ allErrors: false, strict: false }).compile(o.schema)
    } catch (cause) {
      throw new MaifError('MAIF_ERR_INVALID_OPTION', `validate-json: the schema does not compile: ${(cause as Error).message}`, { cause })
    }
    return mapRecords((r) => {
      if (validate(r.value)) return r
      const e = validate.errors?.[0]
      throw new MaifError('MAIF_ERR_RECORD', `schema violation at ${e?.instancePath || '/'}: ${e?.message ?? 'invalid'}`)
    }, ctx)
  },
})
