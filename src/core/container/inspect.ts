// A key-less description of a container: header, sessions, blocks and checkpoints, read in one pass.
import { MaifError } from '../errors.js'
import { withFile } from '../format/io.js'
import { CODEC_NAMES, DATA_PREFIX_LEN, decodeDataPrefix, decodeFileHeader, decodeSession, ENC_AES_256_GCM, HEADER_LEN, parseJsonObject } from '../format/format.js'
import { decodeCheckpoint, decodeNote } from '../format/checkpoint.js'
import { scanBoxes } from './scanner.js'

export interface InspectInfo {
  containerId: string
  formatVersion: number
  createdMs: number
  size: number
  sessions: Array<{ seq: number; offset: number; sessionId: string; encryption: string; keyProvider: string | null; signerKeyId: string; signerAlg: string; writer: string; createdMs: number }>
  blocks: Array<{ seq: number; type: string; offset: number; size: number; flags: number; codec: string; encrypted: boolean; records: number | null; label: string | null; agent: string | null }>
  checkpoints: Array<{ offset: number; treeSize: number; root: string; timeMs: number; keyId: string }>
  torn: string | null
}

export async function inspectContainer(path: string): Promise<InspectInfo> {
  return withFile(path, 'r', async (fh, size) => {
    const info: InspectInfo = { containerId: '', formatVersion: 1, createdMs: 0, size, sessions: [], blocks: [], checkpoints: [], torn: null }
    let last = ''
    try {
      for await (const { offset, header: h, bytes } of scanBoxes(fh, size)) {
        const p = bytes.subarray(HEADER_LEN)
        last = h.type
        if (h.type === 'fhdr') {
          const f = decodeFileHeader(p, offset)
          info.containerId = f.containerId.toString('hex')
          info.createdMs = f.createdMs
        } else if (h.type === 'sess') {
          const { sessionId, info: s } = decodeSession(p, offset)
          info.sessions.push({ seq: h.seq, offset, sessionId: sessionId.toString('hex'), encryption: s.encryption, keyProvider: s.keyProvider ?? null, signerKeyId: s.signer.keyId, signerAlg: s.signer.alg, writer: s.writer, createdMs: s.createdMs })
        } else if (h.type === 'ckpt') {
          const n = decodeNote(decodeCheckpoint(p, offset).note, offset)
          info.checkpoints.push({ offset, treeSize: n.treeSize, root: n.root.toString('base64'), timeMs: n.timeMs, keyId: n.keyId.toString('hex') })
        } else if (h.type !== 'indx' && h.type !== 'tail') {
          const d = decodeDataPrefix(p, p.length, offset)
          const pub = parseJsonObject(p.subarray(DATA_PREFIX_LEN, DATA_PREFIX_LEN + d.pubLen), offset, 'public metadata')
          info.blocks.push({
            seq: h.seq, type: h.type, offset, size: h.size, flags: h.flags, codec: CODEC_NAMES[d.codec] ?? String(d.codec), encrypted: d.enc === ENC_AES_256_GCM,
            records: typeof pub.records === 'number' ? pub.records : null, label: typeof pub.label === 'string' ? pub.label : null, agent: typeof pub.agent === 'string' ? pub.agent : null,
          })
        }
      }
      if (last !== 'tail') info.torn = 'the container does not end in a tail (run maif recover)'
    } catch (err) {
      if (!(err instanceof MaifError) || err.code === 'MAIF_ERR_IO') throw err
      info.torn = `${err.code}: ${err.message}`
    }
    return info
  })
}
