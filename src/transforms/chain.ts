// Block stage `chain`: hash-chain the boxes into the Merkle tree and write the index and a checkpoint on a
// cadence (blocks or ms, whichever comes first). It covers the blocks as written, so it comes after encrypt.
import { z } from 'zod'
import { defineTransform } from '../core/runtime/component.js'
import type { WriteStage } from '../core/container/write-path.js'

export const chain = defineTransform({
  type: 'chain',
  stage: 'block',
  unique: true,
  description: 'hash-chain blocks and commit them with checkpoints',
  options: {
    checkpointEvery: z
      .strictObject({
        blocks: z.int().min(1).describe('write a checkpoint after this many blocks (default 256)').optional(),
        ms: z.int().min(1).describe('write a checkpoint once this many ms have passed with blocks pending (default 1000)').optional(),
      })
      .optional(),
  },
  lint({ self, transforms, report }) {
    const encrypt = transforms.findIndex((t) => t.type === 'encrypt')
    if (encrypt !== -1 && encrypt > transforms.indexOf(self)) {
      report({ rule: 'order/chain-after-encrypt', message: `'chain' comes before 'encrypt': the hash chain must cover the blocks as written, after encryption`, hint: `move 'chain' below 'encrypt' (frame → compress → encrypt → chain → sign)` })
    }
  },
  build(o): WriteStage {
    return { type: 'chain', ...(o.checkpointEvery ? { checkpointEvery: o.checkpointEvery } : {}) }
  },
})
