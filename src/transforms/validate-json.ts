// validate-json: records that do not match a JSON Schema are dead-lettered with the validator's reason.
import { Ajv } from 'ajv'
import { MaifError } from '../core/errors.js'
import type { RecordStagePlugin } from '../core/runtime/registry.js'

export const validateJsonStage: RecordStagePlugin = {
  create(options) {
    const schema = options.schema
    if (schema === undefined) return (r) => r // every jsonl line was already checked to be JSON
    if (typeof schema !== 'object' || schema === null) throw new MaifError('MAIF_ERR_INVALID_OPTION', 'validate-json: schema must be a JSON Schema object')
    let validate
    try {
      validate = new Ajv({ allErrors: false, strict: false }).compile(schema)
    } catch (cause) {
      throw new MaifError('MAIF_ERR_INVALID_OPTION', `validate-json: the schema does not compile: ${(cause as Error).message}`, { cause })
    }
    return (r) => {
      if (validate(r.value)) return r
      const e = validate.errors?.[0]
      throw new MaifError('MAIF_ERR_RECORD', `schema violation at ${e?.instancePath || '/'}: ${e?.message ?? 'invalid'}`)
    }
  },
}
