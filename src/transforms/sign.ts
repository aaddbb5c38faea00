// Block stage `sign`: sign each checkpoint. `keyring` selects the signing key (default: the encrypt stage's
// keyring, then security.keyring, then MAIF_KEYRING); `alg`, when given, must be that key's algorithm, so a
// pipeline that promises ed25519 never silently signs with another key.
import { z } from 'zod'
import { awsOptionsSchema } from '../core/aws/config.js'
import { MaifError } from '../core/errors.js'
import { SIGNATURE_ALGS } from '../core/format/signing.js'
import { defineTransform } from '../core/runtime/component.js'
import type { WriteStage } from '../core/container/write-path.js'

export const sign = defineTransform({
  type: 'sign',
  stage: 'block',
  unique: true,
  description: 'sign each checkpoint',
  options: {
    keyring: z.string().min(1).describe('keyring whose signing key signs the checkpoints (default: the encrypt keyring, then security.keyring, then MAIF_KEYRING)').optional(),
    alg: z.enum(Object.keys(SIGNATURE_ALGS) as [string, ...string[]]).describe('the signing algorithm the key must have').optional(),
    kms: z.strictObject({
      keyId: z.string().min(1).describe('asymmetric AWS KMS key (ECC_NIST_P256 or RSA_3072, SIGN_VERIFY) that signs the checkpoints; its private key never leaves KMS'),
      aws: awsOptionsSchema.describe('region / endpoint overrides (default: the SDK\'s AWS_REGION, AWS_ENDPOINT_URL_KMS, …)').optional(),
    }).describe('sign checkpoints with an AWS KMS key instead of the keyring').optional(),
  },
  refine(v, ctx) {
    if (v.kms && v.keyring) ctx.addIssue({ code: 'custom', path: ['kms'], message: `sign takes its signing key from 'keyring' or from 'kms', not both`, params: { rule: 'schema/keyring-or-kms', hint: 'remove `keyring` or `kms`' } })
  },
  lint({ self, transforms, report }) {
    const chainAt = transforms.findIndex((t) => t.type === 'chain')
    if (chainAt !== -1 && chainAt > transforms.indexOf(self)) {
      report({ rule: 'order/sign-after-chain', message: `'sign' comes before 'chain': it signs the chain's checkpoints`, hint: `move 'sign' below 'chain' (frame → compress → encrypt → chain → sign)` })
    }
  },
  build(o): WriteStage {
    if (o.kms && o.keyring) throw new MaifError('MAIF_ERR_INVALID_OPTION', "sign takes its key from 'keyring' or from 'kms', not both")
    return {
      type: 'sign', ...(o.keyring ? { keyring: o.keyring } : {}), ...(o.alg ? { alg: o.alg } : {}),
      ...(o.kms ? { kms: { keyId: o.kms.keyId, ...(o.kms.aws ? { aws: o.kms.aws } : {}) } } : {}),
    }
  },
})
