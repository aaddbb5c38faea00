// Block stage `encrypt`: AES-256-GCM per block under a fresh data key per writer session, from the keyring
// (this stage's `keyring`, else security.keyring, else MAIF_KEYRING; the CLI's --keyring overrides all), or
// from AWS KMS with `kms: { keyId }` (GenerateDataKey per session; further key ids wrap the same data key).
import { z } from 'zod'
import { awsOptionsSchema } from '../core/aws/config.js'
import { MaifError } from '../core/errors.js'
import { defineTransform } from '../core/runtime/component.js'
import type { WriteStage } from '../core/container/write-path.js'

export const encrypt = defineTransform({
  type: 'encrypt',
  stage: 'block',
  unique: true,
  description: 'encrypt each block (AES-256-GCM, a fresh key per writer session)',
  options: {
    keyring: z.string().min(1).describe('keyring directory for the session keys (default: security.keyring, then MAIF_KEYRING)').optional(),
    kms: z.strictObject({
      keyId: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).describe('AWS KMS key id, ARN or alias that generates each session data key; a list wraps the same data key under every key in it'),
      aws: awsOptionsSchema.describe('region / endpoint overrides (default: the SDK\'s AWS_REGION, AWS_ENDPOINT_URL_KMS, …)').optional(),
    }).describe('take session data keys from AWS KMS instead of the keyring').optional(),
  },
  refine(v, ctx) {
    if (v.kms && v.keyring) ctx.addIssue({ code: 'custom', path: ['kms'], message: `encrypt takes its data keys from 'keyring' or from 'kms', not both`, params: { rule: 'schema/keyring-or-kms', hint: 'remove `keyring` or `kms`' } })
  },
  build(o): WriteStage {
    if (o.kms && o.keyring) throw new MaifError('MAIF_ERR_INVALID_OPTION', "encrypt takes its data keys from 'keyring' or from 'kms', not both")
    if (o.kms) return { type: 'encrypt', kms: { keyIds: typeof o.kms.keyId === 'string' ? [o.kms.keyId] : [...o.kms.keyId], ...(o.kms.aws ? { aws: o.kms.aws } : {}) } }
    return { type: 'encrypt', ...(o.keyring ? { keyring: o.keyring } : {}) }
  },
})
