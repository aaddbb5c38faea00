// maif search: the records nearest to a query, from the EMBD blocks of one or more containers (every *.maif
// in a directory, s3:// objects, or every *.maif object under an s3:// prefix). The index stored by `maif index` is loaded when it matches, else built.
import { MaifError } from '../core/errors.js'
import { searchContainers, type SearchFilter } from '../core/semantic/search.js'
import { bytesOpt, intOpt, parse, strOpt, usage, writeOut } from './args.js'
import { keyringFrom, pinnedKeys } from './keys.js'

function timeOpt(v: string, key: string): number {
  const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v)
  if (!Number.isFinite(n)) usage(`--filter ${key}= takes Unix milliseconds or an ISO 8601 time, got '${v}'`)
  return n
}

export function parseFilters(list: unknown): SearchFilter | undefined {
  const items = (Array.isArray(list) ? list : []) as string[]
  if (items.length === 0) return undefined
  const f: SearchFilter = {}
  for (const item of items) {
    const eq = item.indexOf('=')
    if (eq < 1) usage(`--filter takes key=value (type, agent, label, since, until), got '${item}'`)
    const key = item.slice(0, eq)
    const value = item.slice(eq + 1)
    if (key === 'type' || key === 'agent' || key === 'label') f[key] = value
    else if (key === 'since' || key === 'until') f[key] = timeOpt(value, key)
    else usage(`--filter: unknown key '${key}' (type, agent, label, since, until)`)
  }
  return f
}

export default async function search(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    k: { type: 'string', short: 'k' }, keyring: { type: 'string' }, pub: { type: 'string', multiple: true }, filter: { type: 'string', multiple: true },
    model: { type: 'string' }, 'model-dir': { type: 'string' }, ef: { type: 'string' }, json: { type: 'boolean' }, rebuild: { type: 'boolean' }, 'max-box': { type: 'string' },
  })
  if (positionals.length < 2) usage('search takes FILE (or DIR, s3://bucket/key, s3://bucket/prefix/)... and a QUERY')
  const query = positionals[positionals.length - 1]!
  const k = intOpt(values.k, 'k') ?? 10
  const efSearch = intOpt(values.ef, 'ef')
  const maxBoxBytes = bytesOpt(values['max-box'], 'max-box')
  const filter = parseFilters(values.filter)
  const keyring = await keyringFrom(values.keyring)
  const pinned = await pinnedKeys(values.pub, keyring)
  const model = strOpt(values.model)
  // The ONNX model that made the embeddings (its files must hash as their id says); Bedrock takes the SDK's environment.
  const modelDir = strOpt(values['model-dir'])
  const r = await searchContainers(positionals.slice(0, -1), query, {
    k, ...(keyring ? { keyProvider: keyring } : {}), ...(pinned.length ? { pinned } : {}), ...(filter ? { filter } : {}),
    ...(model ? { model } : {}), ...(modelDir ? { modelDir } : {}), ...(efSearch ? { efSearch } : {}), ...(values.rebuild ? { storedIndex: false } : {}), ...(maxBoxBytes === undefined ? {} : { maxBoxBytes }),
  }).catch((err: unknown) => {
    if (err instanceof MaifError && err.code === 'MAIF_ERR_DECRYPT' && !keyring) throw new MaifError('MAIF_ERR_KEY_UNAVAILABLE', 'the container is encrypted: pass --keyring DIR (or set MAIF_KEYRING)', { cause: err })
    throw err
  })
  const several = (r.containers ?? 1) > 1
  if (values.json) {
    const hits = r.hits.map((h) => ({ ...(several ? { file: h.file } : {}), seq: h.seq, record: h.record, score: h.score, text: h.text }))
    await writeOut(process.stdout, JSON.stringify({ hits, indexed: r.indexed, model: r.model, metric: r.metric, ...(r.storedIndex === undefined ? {} : { storedIndex: r.storedIndex }) }) + '\n')
  } else {
    for (const h of r.hits) {
      const where = `${several ? `${h.file}:` : ''}#${h.seq}:${h.record}`
      const text = h.text.length > 200 ? h.text.slice(0, 199) + '…' : h.text
      await writeOut(process.stdout, `${h.score.toFixed(4)}  ${where}  ${text}\n`)
    }
    if (r.hits.length === 0) process.stderr.write(`maif search: no hits among ${r.indexed} embeddings\n`)
  }
  return 0
}
