// Block stage `encrypt`: AES-256-GCM per block under a fresh data key per writer session, from the keyring
// (this stage's `keyring`, else security.keyring, else MAIF_KEYRING; the CLI's --keyring overrides all).
import { z } from 'zod'
import { defineTransform } from '../core/runtime/component.js'
import type { WriteStage } from '../core/container/write-path.js'

export const encrypt = defineTransform({
  type: 'encrypt',
  stage: 'block',
  unique: true,
  description: 'encrypt each block (AES-256-GCM, a fresh key per writer session)',
  options: {
    keyring: z.string().min(1).describe('keyring directory for the session keys (default: security.keyring, then MAIF_KEYRING)').optional(),
  },
  build(o): WriteStage {
    return { type: 'encrypt', ...(o.keyring ? { keyring: o.keyring } : {}) }
  },
})
