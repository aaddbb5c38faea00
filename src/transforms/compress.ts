// Block stage `compress`: compress each block before it is encrypted (never after: ciphertext does not
// compress). Without this stage a container stores blocks uncompressed.
import { z } from 'zod'
import { CODEC_NAMES, type Codec } from '../core/format/format.js'
import { defineTransform } from '../core/runtime/component.js'
import type { WriteStage } from '../core/container/write-path.js'

/** Compression level ranges per codec (the values zstd-napi, zlib and brotli accept). */
export const CODEC_LEVELS: Readonly<Record<string, readonly [number, number] | null>> = { zstd: [-7, 22], gzip: [0, 9], brotli: [0, 11], none: null }

export const compress = defineTransform({
  type: 'compress',
  stage: 'block',
  unique: true,
  description: 'compress each block',
  options: {
    codec: z.enum(CODEC_NAMES as unknown as ['none', 'zstd', 'gzip', 'brotli']).describe('default zstd').optional(),
    level: z.int().describe('codec level: zstd -7..22, gzip 0..9, brotli 0..11').optional(),
  },
  refine(v, ctx) {
    if (v.level === undefined) return
    const codec = v.codec ?? 'zstd'
    const range = CODEC_LEVELS[codec]
    if (!range) {
      ctx.addIssue({ code: 'custom', path: ['level'], message: `codec '${codec}' takes no level`, params: { rule: 'schema/codec-level', hint: 'remove `level`' } })
    } else if (v.level < range[0] || v.level > range[1]) {
      ctx.addIssue({ code: 'custom', path: ['level'], message: `${codec} level must be from ${range[0]} to ${range[1]}, got ${v.level}`, params: { rule: 'schema/codec-level', hint: `use a level from ${range[0]} to ${range[1]}` } })
    }
  },
  lint({ self, transforms, report }) {
    const encrypt = transforms.findIndex((t) => t.type === 'encrypt')
    if (encrypt !== -1 && encrypt < transforms.indexOf(self)) {
      report({ rule: 'order/compress-before-encrypt', message: `'compress' comes after 'encrypt': ciphertext does not compress`, hint: `move 'compress' above 'encrypt' (frame → compress → encrypt → chain → sign)` })
    }
  },
  build(o): WriteStage {
    return { type: 'compress', codec: (o.codec ?? 'zstd') as Codec, ...(o.level === undefined ? {} : { level: o.level }) }
  },
})
