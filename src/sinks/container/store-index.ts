// The end-of-run step of a container sink whose run wrote embeddings: it opens the finished container as a
// search does (verifying it and checking each embedding against its record, loading and extending the index
// an earlier run stored), and appends the HNSW index as an XVIX block in a signed session of its own, with the
// run's keys. Vectors go straight from the EMBD blocks into the index, a chunk at a time, never into an array
// of all of them. Loaded on first use: usearch stays out of runs without embeddings.
import type { Logger } from 'pino'
import { MaifError } from '../../core/errors.js'
import type { KeyProvider } from '../../core/format/keyring.js'
import type { Signer } from '../../core/format/signing.js'
import { SemanticIndex } from '../../core/semantic/search.js'

export interface StoreIndexKeys {
  keyProvider?: KeyProvider
  signer: Signer
  allowNewSigner?: boolean
}

/**
 * Stores the vector index of `path`. A failure is logged, not thrown: the records are already durable and
 * acknowledged, and a search without a stored index builds the index from the EMBD blocks (the same result,
 * only slower), so failing the run would only make a source read them again.
 */
export async function storeIndexAfterRun(path: string, keys: StoreIndexKeys, logger: Logger | undefined): Promise<{ embeddings: number; indexBytes: number; treeSize: number } | undefined> {
  const t0 = Date.now()
  try {
    const idx = await SemanticIndex.open(path, { ...(keys.keyProvider ? { keyProvider: keys.keyProvider } : {}) })
    const stored = await idx.store({ signer: keys.signer, ...(keys.keyProvider ? { keyProvider: keys.keyProvider } : {}), ...(keys.allowNewSigner === undefined ? {} : { allowNewSigner: keys.allowNewSigner }) })
    logger?.info({ path, embeddings: stored.embeddings, indexBytes: stored.indexBytes, extended: idx.storedFrom !== undefined, ms: Date.now() - t0 }, 'stored the vector index')
    return stored
  } catch (err) {
    logger?.warn({ path, ...(err instanceof MaifError ? { code: err.code } : {}), err: err instanceof Error ? err.message : String(err) }, `the vector index was not stored (searches build it from the embeddings instead); store it with 'maif index ${path}'`)
    return undefined
  }
}
