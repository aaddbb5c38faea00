// `maif compliance check [FILE] [--fips] [--json]`: the crypto module Node runs (OpenSSL version, FIPS mode,
// where a FIPS provider would come from) and the algorithms a pipeline definition or a container uses, each
// marked approved / not approved with its standard. --fips makes it a gate: exit 1 unless FIPS mode is active
// and every security function in use is approved.
import { open } from 'node:fs/promises'
import { resolve } from 'node:path'
import { cryptoModuleStatus, describeAlgorithms, type AlgorithmId, type AlgorithmUse } from '../core/compliance/fips.js'
import { inspectContainer } from '../core/container/inspect.js'
import { loadKeyring, resolveKeyringDir } from '../core/format/keyring.js'
import { parse, strOpt, usage, writeOut } from './args.js'

async function isContainer(path: string): Promise<boolean> {
  const fh = await open(path, 'r')
  try {
    const b = Buffer.alloc(8)
    const { bytesRead } = await fh.read(b, 0, 8, 0)
    return bytesRead === 8 && b.subarray(4, 8).toString('latin1') === 'fhdr'
  } finally {
    await fh.close()
  }
}

const CODECS: Record<string, AlgorithmId | undefined> = { zstd: 'zstd', gzip: 'gzip', brotli: 'brotli' }
const SIGS: Record<string, AlgorithmId | undefined> = { 'ecdsa-p256': 'ecdsa-p256', ed25519: 'ed25519', 'rsa-pss-3072': 'rsa-pss-3072' }

/** The algorithms a container's sessions and blocks name. */
async function containerAlgorithms(path: string): Promise<{ ids: AlgorithmId[]; notes: string[] }> {
  const info = await inspectContainer(path)
  const ids: AlgorithmId[] = ['sha256', 'crc32']
  const notes: string[] = []
  for (const s of info.sessions) {
    const sig = s.signerAlg ? SIGS[s.signerAlg] : undefined
    if (sig) ids.push(sig)
    else notes.push(`session ${s.sessionId}: unknown signature algorithm '${String(s.signerAlg)}'`)
    if (s.encryption !== 'none') {
      ids.push('aes-256-gcm', 'hkdf-sha512', 'drbg')
      ids.push(s.keyProvider?.startsWith('kms') || s.keyProvider?.startsWith('arn:') ? 'kms-wrap' : 'aes-256-gcm-keywrap')
    } else notes.push(`session ${s.sessionId} is plaintext: no encryption at rest (SC-28)`)
  }
  for (const b of info.blocks) {
    const c = CODECS[b.codec]
    if (c) ids.push(c)
  }
  return { ids, notes }
}

/** The algorithms a pipeline definition would use (its signing key decides the signature algorithm). */
async function pipelineAlgorithms(path: string, keyringFlag: string | undefined): Promise<{ ids: AlgorithmId[]; notes: string[]; fipsRequired: boolean }> {
  await import('../builtins.js')
  const { loadPipelineFile } = await import('../core/runtime/pipeline-def.js')
  const { definition: def } = await loadPipelineFile(path, {})
  const ids: AlgorithmId[] = []
  const notes: string[] = []
  const transforms = def.transforms ?? []
  const outputs = def.sinks?.outputs ?? (def.sink ? [def.sink] : [])
  const container = outputs.some((o) => o.type === 'container')
  const find = (type: string): Record<string, unknown> | undefined => transforms.find((t) => t.type === type) as Record<string, unknown> | undefined
  if (container || transforms.some((t) => t.type === 'chain' || t.type === 'audit')) ids.push('sha256')
  if (container) ids.push('crc32', 'drbg')
  const enc = find('encrypt')
  if (enc) ids.push('aes-256-gcm', 'hkdf-sha512', 'aes-256-gcm-keywrap')
  else if (container) notes.push('no encrypt stage: the container would be plaintext (SC-28)')
  const comp = find('compress')
  if (comp || container) ids.push(CODECS[String(comp?.codec ?? 'zstd')] ?? 'zstd')
  if (container) {
    const sign = find('sign')
    let alg = typeof sign?.alg === 'string' ? sign.alg : undefined
    if (!alg) {
      const dir = resolveKeyringDir({ flag: keyringFlag, pipeline: (sign?.keyring ?? enc?.keyring ?? def.security?.keyring) as string | undefined })
      if (dir) alg = await loadKeyring(resolve(dir)).then((k) => k.signer.alg, () => undefined)
    }
    const sig = alg ? SIGS[alg] : undefined
    if (sig) ids.push(sig)
    else notes.push('signature algorithm: decided by the keyring\'s key, which could not be read (pass --keyring)')
  }
  return { ids, notes, fipsRequired: (def.security as { fips?: boolean } | undefined)?.fips === true }
}

export default async function compliance(args: string[]): Promise<number> {
  const [sub, ...rest] = args
  if (sub !== 'check') usage(`compliance takes a subcommand: check (got ${sub === undefined ? 'nothing' : `'${sub}'`})`)
  const { values, positionals } = parse(rest, { fips: { type: 'boolean' }, json: { type: 'boolean' }, keyring: { type: 'string' } })
  if (positionals.length > 1) usage('compliance check takes at most one FILE (a pipeline definition or a container)')
  const module = cryptoModuleStatus()
  let algorithms: AlgorithmUse[] = []
  let notes: string[] = []
  let subject: { file: string; kind: 'container' | 'pipeline' } | null = null
  let pipelineFips = false
  if (positionals[0] !== undefined) {
    const file = positionals[0]
    const kind = (await isContainer(file)) ? 'container' : 'pipeline'
    subject = { file, kind }
    const r = kind === 'container' ? await containerAlgorithms(file) : await pipelineAlgorithms(file, strOpt(values.keyring))
    algorithms = describeAlgorithms(r.ids)
    notes = r.notes
    pipelineFips = 'fipsRequired' in r && r.fipsRequired === true
  }
  const refused = algorithms.filter((a) => a.status === 'not-approved' || a.status === 'conditional')
  const problems: string[] = []
  if (values.fips || pipelineFips) {
    if (!module.fips) problems.push('FIPS mode is not active (crypto.getFips() is 0)')
    for (const a of refused) problems.push(`${a.algorithm} (${a.use}) is ${a.status === 'conditional' ? 'approved only conditionally' : 'not approved'}: ${a.note ?? a.reference}`)
  }
  const ok = problems.length === 0
  if (values.json) {
    await writeOut(process.stdout, JSON.stringify({ ok, module, subject, algorithms, notes, problems, pipelineFips }) + '\n')
  } else {
    const mark = (s: string): string => ({ approved: 'APPROVED', 'not-approved': 'NOT APPROVED', conditional: 'CONDITIONAL', 'not-security': 'not a security function' })[s] ?? s
    await writeOut(process.stdout,
      `Node ${module.node}, OpenSSL ${module.openssl}${module.sharedOpenssl ? ' (system library)' : ' (bundled)'}\n` +
      `FIPS mode: ${module.fips ? 'active' : 'not active'} (crypto.getFips() = ${module.fips ? 1 : 0}); OPENSSL_CONF=${module.opensslConf ?? '-'}, OPENSSL_MODULES=${module.opensslModules ?? '-'}${module.fipsProviderFile ? `, ${module.fipsProviderFile} present` : ''}\n` +
      `${module.statement}\n` +
      (subject ? `\nAlgorithms used by the ${subject.kind} ${subject.file}:\n` + algorithms.map((a) => `  ${mark(a.status).padEnd(24)} ${a.algorithm.padEnd(28)} ${a.reference}  — ${a.use}${a.note ? ` (${a.note})` : ''}\n`).join('') : '') +
      notes.map((n) => `note: ${n}\n`).join('') +
      problems.map((p) => `FAIL: ${p}\n`).join('') +
      (values.fips || pipelineFips ? (ok ? 'FIPS check passed\n' : 'FIPS check failed\n') : ''),
    )
  }
  return ok ? 0 : 1
}
