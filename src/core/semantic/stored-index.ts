// The vector index stored in the container, as an `XVIX` block (docs/FORMAT.md §5.8): the usearch HNSW file
// of the embeddings before it, with the map from index ids to records. It is written by `maif index` as a
// session of its own, so it is encrypted, chained and signed like any block. A search that finds one checks
// that its map equals the one it rebuilds from the EMBD blocks before it (refusing it otherwise), loads it
// instead of building the graph again, and adds the embeddings written after it.
import { createReadStream } from 'node:fs'
import { mkdtemp, open, rm, stat, type FileHandle } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { MaifError } from '../errors.js'
import type { Metric } from './embd.js'

export const INDEX_BLOCK_TYPE = 'XVIX'
const MAGIC = Buffer.from('MVX1', 'ascii')
/** Pieces of the usearch file: each becomes one box (a reader holds one at a time). */
const PIECE = 1 << 20

export interface StoredIndexHeader {
  model: string
  dims: number
  metric: Metric
  m: number
  efConstruction: number
  /** Embeddings in the index (ids 0 … count−1). */
  count: number
  /** The container tree it was built from: size and root (base64). */
  treeSize: number
  root: string
  /** Length of the usearch file that ends the payload. */
  indexBytes: number
}

export interface IdMap {
  seqs: Uint32Array
  recs: Uint32Array
  hashes: Buffer
}

/** The payload as binary pieces (header and map, then the usearch file in segments), for a container writer. */
export async function* indexPieces(header: StoredIndexHeader, map: IdMap, usearchFile: string): AsyncGenerator<{ data: Buffer; last: boolean }> {
  const json = Buffer.from(JSON.stringify(header), 'utf8')
  const head = Buffer.alloc(8 + json.length + header.count * 40)
  MAGIC.copy(head, 0)
  head.writeUInt32BE(json.length, 4)
  json.copy(head, 8)
  let o = 8 + json.length
  for (let i = 0; i < header.count; i++, o += 4) head.writeUInt32BE(map.seqs[i]!, o)
  for (let i = 0; i < header.count; i++, o += 4) head.writeUInt32BE(map.recs[i]!, o)
  map.hashes.copy(head, o, 0, header.count * 32)
  const size = (await stat(usearchFile)).size
  if (size !== header.indexBytes) throw new MaifError('MAIF_ERR_IO', `the index file ${usearchFile} changed while it was stored`)
  yield { data: head, last: size === 0 }
  let sent = 0
  for await (const chunk of createReadStream(usearchFile, { highWaterMark: PIECE }) as AsyncIterable<Buffer>) {
    sent += chunk.length
    yield { data: chunk, last: sent >= size }
  }
}

/** A binary batch stream of the payload, as `writeContainer` takes it. */
export function indexBlockStream(header: StoredIndexHeader, map: IdMap, usearchFile: string): Readable {
  return Readable.from((async function* () {
    for await (const p of indexPieces(header, map, usearchFile)) yield { kind: 'binary', blockType: INDEX_BLOCK_TYPE, pieces: [p] }
  })(), { objectMode: true, highWaterMark: 1 })
}

/** Reads an XVIX payload segment by segment: the header and map in memory, the usearch file to a temporary file. */
export class StoredIndexReader {
  header: StoredIndexHeader | undefined
  map: IdMap | undefined
  #parts: Buffer[] = []
  #have = 0
  #need = 8
  #dir: string | undefined
  #fh: FileHandle | undefined
  #written = 0

  get file(): string | undefined {
    return this.#dir && join(this.#dir, 'index.usearch')
  }

  async push(data: Buffer): Promise<void> {
    if (this.map) return this.#write(data)
    this.#parts.push(data)
    this.#have += data.length
    while (!this.map && this.#have >= this.#need) {
      const buf = Buffer.concat(this.#parts)
      this.#parts = [buf]
      if (!this.header && this.#need === 8) {
        if (!buf.subarray(0, 4).equals(MAGIC)) throw new MaifError('MAIF_ERR_INDEX_STALE', 'a stored index block does not start with MVX1')
        this.#need = 8 + buf.readUInt32BE(4)
        continue
      }
      if (!this.header) {
        this.header = parseHeader(buf.subarray(8, this.#need))
        this.#need += this.header.count * 40
        continue
      }
      const n = this.header.count
      let o = this.#need - n * 40
      const seqs = new Uint32Array(n)
      const recs = new Uint32Array(n)
      for (let i = 0; i < n; i++, o += 4) seqs[i] = buf.readUInt32BE(o)
      for (let i = 0; i < n; i++, o += 4) recs[i] = buf.readUInt32BE(o)
      this.map = { seqs, recs, hashes: Buffer.from(buf.subarray(o, o + n * 32)) }
      this.#parts = []
      await this.#write(buf.subarray(this.#need))
    }
  }

  async #write(data: Buffer): Promise<void> {
    if (data.length === 0) return
    if (!this.#fh) {
      this.#dir = await mkdtemp(join(tmpdir(), 'maif-index-'))
      this.#fh = await open(this.file!, 'wx', 0o600)
    }
    await this.#fh.write(data)
    this.#written += data.length
  }

  /** After the last segment: the file holds exactly the usearch bytes the header announced. */
  async finish(): Promise<void> {
    await this.#fh?.close()
    this.#fh = undefined
    if (!this.header || !this.map) throw new MaifError('MAIF_ERR_INDEX_STALE', 'a stored index block ends before its header and map')
    if (this.#written !== this.header.indexBytes) throw new MaifError('MAIF_ERR_INDEX_STALE', `a stored index block holds ${this.#written} index bytes, its header says ${this.header.indexBytes}`)
  }

  async dispose(): Promise<void> {
    await this.#fh?.close().catch(() => undefined)
    if (this.#dir) await rm(this.#dir, { recursive: true, force: true })
  }
}

function parseHeader(b: Buffer): StoredIndexHeader {
  let h: StoredIndexHeader
  try {
    h = JSON.parse(b.toString('utf8')) as StoredIndexHeader
  } catch (cause) {
    throw new MaifError('MAIF_ERR_INDEX_STALE', 'a stored index block has a malformed header', { cause })
  }
  const int = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0
  if (typeof h !== 'object' || h === null || typeof h.model !== 'string' || !int(h.dims) || !int(h.count) || !int(h.indexBytes) || !int(h.treeSize) || !['cosine', 'ip', 'l2'].includes(h.metric)) {
    throw new MaifError('MAIF_ERR_INDEX_STALE', 'a stored index block has a malformed header')
  }
  return h
}
