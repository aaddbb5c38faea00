// maif index: builds the vector index of a container's embeddings (or extends the one it stores) and appends
// it to the container as an XVIX block, in a signed session of its own, so that searches load it instead of
// building the HNSW graph every time.
import { SemanticIndex } from '../core/semantic/search.js'
import { parse, usage, writeOut } from './args.js'
import { keyringFrom, pinnedKeys } from './keys.js'

export default async function index(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { keyring: { type: 'string' }, pub: { type: 'string', multiple: true }, rebuild: { type: 'boolean' }, 'allow-new-signer': { type: 'boolean' }, json: { type: 'boolean' } })
  if (positionals.length !== 1) usage('index takes one FILE')
  const keyring = await keyringFrom(values.keyring)
  if (!keyring) usage('index appends a signed session: it needs a keyring (--keyring DIR or MAIF_KEYRING)')
  const pinned = await pinnedKeys(values.pub, keyring)
  const t0 = Date.now()
  const idx = await SemanticIndex.open(positionals[0]!, { keyProvider: keyring, pinned, storedIndex: values.rebuild !== true })
  const stored = await idx.store({ keyProvider: keyring, signer: keyring.signer, ...(values['allow-new-signer'] ? { allowNewSigner: true } : {}) })
  const report = { embeddings: stored.embeddings, model: idx.model, metric: idx.metric, indexBytes: stored.indexBytes, extended: idx.storedFrom !== undefined, treeSize: stored.treeSize, ms: Date.now() - t0 }
  await writeOut(process.stdout, values.json ? JSON.stringify(report) + '\n' : `indexed ${report.embeddings} embeddings (${report.model}, ${report.metric})${report.extended ? ', extending the stored index' : ''}; stored ${report.indexBytes} bytes of index; tree size ${report.treeSize}\n`)
  return 0
}
