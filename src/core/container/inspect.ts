// A key-less description of a container: header, sessions, blocks and checkpoints, read in one pass.
// Total over any input: a box whose payload cannot be parsed is listed under `problems` (with its offset and
// code) and the scan goes on to the next box; a box header that cannot be parsed ends the scan (`torn`).
// Every field comes from the file, so every field is checked for its type: nothing here trusts the bytes.
import { isAccessError, MaifError, wrapError, type ErrorCode } from '../errors.js'
import { withSource, type OpenSourceOptions } from '../format/open-source.js'
import { CODEC_NAMES, DATA_PREFIX_LEN, decodeDataPrefix, decodeFileHeader, decodeSession, ENC_AES_256_GCM, HEADER_LEN, parseJsonObject } from '../format/format.js'
import { decodeCheckpoint, decodeNote } from '../format/checkpoint.js'
import { scanBoxes } from './scanner.js'

export interface InspectProblem { offset: number; seq: number | null; type: string | null; code: ErrorCode; message: string }

export interface InspectInfo {
  containerId: string
  formatVersion: number
  createdMs: number | null
  size: number
  sessions: Array<{ seq: number; offset: number; sessionId: string; encryption: string; keyProvider: string | null; signerKeyId: string | null; signerAlg: string | null; writer: string | null; createdMs: number | null }>
  blocks: Array<{ seq: number; type: string; offset: number; size: number; flags: number; codec: string; encrypted: boolean; records: number | null; label: string | null; agent: string | null }>
  checkpoints: Array<{ offset: number; treeSize: number; root: string; timeMs: number | null; keyId: string }>
  /** Boxes whose header was readable but whose payload was not, in file order. */
  problems: InspectProblem[]
  /** Why the scan stopped before a final tail, or null when the file ends in a tail. */
  torn: string | null
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null)
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)

/** Describes a container file, or an S3 object (s3://bucket/key). */
export async function inspectContainer(location: string, opts: OpenSourceOptions = {}): Promise<InspectInfo> {
  return withSource(location, opts, async (fh) => {
    const size = fh.size
    const info: InspectInfo = { containerId: '', formatVersion: 1, createdMs: null, size, sessions: [], blocks: [], checkpoints: [], problems: [], torn: null }
    let last = ''
    try {
      for await (const { offset, header: h, bytes } of scanBoxes(fh, size)) {
        last = h.type
        try {
          describe(info, offset, h.type, h.seq, h.size, h.flags, bytes.subarray(HEADER_LEN))
        } catch (err) {
          const e = err instanceof MaifError ? err : wrapError('MAIF_ERR_PAYLOAD', `box '${h.type}' at offset ${offset} could not be parsed`, err, { offset })
          if (isAccessError(e.code)) throw e
          info.problems.push({ offset, seq: h.seq, type: h.type, code: e.code, message: e.message })
        }
      }
      if (last !== 'tail') info.torn = 'the container does not end in a tail (run maif recover)'
    } catch (err) {
      if (err instanceof MaifError && isAccessError(err.code)) throw err
      const e = err instanceof MaifError ? err : wrapError('MAIF_ERR_PAYLOAD', 'the container could not be scanned', err)
      info.torn = `${e.code}: ${e.message}`
    }
    return info
  })
}

function describe(info: InspectInfo, offset: number, type: string, seq: number, size: number, flags: number, p: Buffer): void {
  if (type === 'fhdr') {
    const f = decodeFileHeader(p, offset)
    info.containerId = f.containerId.toString('hex')
    info.createdMs = f.createdMs
  } else if (type === 'sess') {
    const { sessionId, info: s } = decodeSession(p, offset)
    const signer = s.signer as unknown as Record<string, unknown>
    info.sessions.push({
      seq, offset, sessionId: sessionId.toString('hex'), encryption: String(s.encryption), keyProvider: str(s.keyProvider),
      signerKeyId: str(signer.keyId), signerAlg: str(signer.alg), writer: str(s.writer), createdMs: num(s.createdMs),
    })
  } else if (type === 'ckpt') {
    const n = decodeNote(decodeCheckpoint(p, offset).note, offset)
    info.checkpoints.push({ offset, treeSize: n.treeSize, root: n.root.toString('base64'), timeMs: n.timeMs, keyId: n.keyId.toString('hex') })
  } else if (type !== 'indx' && type !== 'tail') {
    const d = decodeDataPrefix(p, p.length, offset)
    const pub = parseJsonObject(p.subarray(DATA_PREFIX_LEN, DATA_PREFIX_LEN + d.pubLen), offset, 'public metadata')
    info.blocks.push({
      seq, type, offset, size, flags, codec: CODEC_NAMES[d.codec] ?? String(d.codec), encrypted: d.enc === ENC_AES_256_GCM,
      records: num(pub.records), label: str(pub.label), agent: str(pub.agent),
    })
  }
}
