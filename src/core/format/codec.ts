// Block codecs. zstd comes from zstd-napi (a native binding to the reference library; Node 20's zlib has
// no zstd), gzip and brotli from node:zlib. Every call is one whole block: blocks are bounded in size.
import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync, gzipSync } from 'node:zlib'
import { compress as zstdCompress } from 'zstd-napi'
import zstdBinding from 'zstd-napi/binding.js'
import { MaifError } from '../errors.js'
import { CODEC_NAMES, type Codec } from './format.js'

export interface CodecOptions { level?: number }

const DEFAULT_LEVEL: Record<Codec, number> = { none: 0, zstd: 1, gzip: 1, brotli: 4 }

export function compressParts(codec: Codec, parts: readonly Buffer[], opts: CodecOptions = {}): Buffer {
  const input = parts.length === 1 ? parts[0]! : Buffer.concat(parts)
  const level = opts.level ?? DEFAULT_LEVEL[codec]
  switch (codec) {
    case 'none': return input
    case 'zstd': return zstdCompress(input, { compressionLevel: level })
    case 'gzip': return gzipSync(input, { level })
    case 'brotli': return brotliCompressSync(input, { params: { [constants.BROTLI_PARAM_QUALITY]: level, [constants.BROTLI_PARAM_SIZE_HINT]: input.length } })
  }
}

/** Decompresses and checks the declared length, so a bomb cannot expand beyond what the block says. */
export function decompress(codecId: number, body: Buffer, plainLen: number, where: { offset?: number; seq?: number } = {}): Buffer {
  const codec = CODEC_NAMES[codecId]
  let out: Buffer
  try {
    switch (codec) {
      case 'none': out = body; break
      case 'zstd': {
        // Into a buffer of exactly the declared size: a frame that claims or produces more fails here,
        // before anything larger than the block's own declaration is allocated.
        out = Buffer.allocUnsafe(plainLen)
        const n = zstdBinding.decompress(out, body)
        if (n !== plainLen) out = out.subarray(0, n)
        break
      }
      case 'gzip': out = gunzipSync(body, { maxOutputLength: Math.max(plainLen, 1) }); break
      case 'brotli': out = brotliDecompressSync(body, { maxOutputLength: Math.max(plainLen, 1) }); break
      default: throw new Error(`unknown codec id ${codecId}`)
    }
  } catch (cause) {
    throw new MaifError('MAIF_ERR_CODEC', `block could not be decompressed (${codec ?? codecId})`, { ...where, cause })
  }
  if (out.length !== plainLen) {
    throw new MaifError('MAIF_ERR_CODEC', `block decompressed to ${out.length} bytes but declares ${plainLen}`, where)
  }
  return out
}
