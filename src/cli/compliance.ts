// `maif compliance check [FILE] [--fips] [--json]`: the crypto module Node runs (OpenSSL version, FIPS mode,
// where a FIPS provider would come from) and the algorithms a pipeline definition or a container uses, each
// marked approved / not approved with its standard. --fips makes it a gate: exit 1 unless FIPS mode is active
// and every security function in use is approved.
// `maif compliance report --framework F FILE`: evidence from a real verification mapped to controls
// (core/compliance/evidence.ts gathers it, core/compliance/report.ts decides each control).
import { resolve } from 'node:path'
import { cryptoModuleStatus, describeAlgorithms, type AlgorithmId, type AlgorithmUse } from '../core/compliance/fips.js'
import { inspectContainer } from '../core/container/inspect.js'
import { codecAlgorithm, containerAlgorithms, signatureAlgorithm } from '../core/compliance/container-algorithms.js'
import { loadKeyring, resolveKeyringDir } from '../core/format/keyring.js'
import { parse, strOpt, usage, writeOut } from './args.js'
import { isContainer, READ_KEY_OPTIONS, readKeys } from './container-args.js'
import { gatherEvidence } from '../core/compliance/evidence.js'
import { complianceReport, FRAMEWORKS, type ControlStatus } from '../core/compliance/report.js'

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
  if (comp || container) ids.push(codecAlgorithm(String(comp?.codec ?? 'zstd')) ?? 'zstd')
  if (container) {
    const sign = find('sign')
    let alg = typeof sign?.alg === 'string' ? sign.alg : undefined
    if (!alg) {
      const dir = resolveKeyringDir({ flag: keyringFlag, pipeline: (sign?.keyring ?? enc?.keyring ?? def.security?.keyring) as string | undefined })
      if (dir) alg = await loadKeyring(resolve(dir)).then((k) => k.signer.alg, () => undefined)
    }
    const sig = signatureAlgorithm(alg)
    if (sig) ids.push(sig)
    else notes.push('signature algorithm: decided by the keyring\'s key, which could not be read (pass --keyring)')
  }
  return { ids, notes, fipsRequired: (def.security as { fips?: boolean } | undefined)?.fips === true }
}

/** `maif compliance report --framework F FILE`: the controls the container and its audit trail show met or not met. */
async function report(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...READ_KEY_OPTIONS, framework: { type: 'string' }, json: { type: 'boolean' }, 'audit-log': { type: 'string', multiple: true } })
  if (positionals.length !== 1) usage('compliance report takes one container FILE')
  const framework = strOpt(values.framework)
  if (framework === undefined) usage(`compliance report needs --framework ${FRAMEWORKS.join('|')}`)
  if (!(FRAMEWORKS as readonly string[]).includes(framework)) usage(`--framework must be one of ${FRAMEWORKS.join(', ')}, got '${framework}'`)
  const file = positionals[0]!
  if (!(await isContainer(file))) usage(`${file} is not a container (a report reads a container; pass a JSONL audit log with --audit-log)`)
  const { keyring, pinned, maxBoxBytes } = await readKeys(values)
  const ev = await gatherEvidence(file, {
    pinned, ...(keyring ? { keyProvider: keyring } : {}), ...(maxBoxBytes ? { maxBoxBytes } : {}),
    auditLogs: (Array.isArray(values['audit-log']) ? values['audit-log'] : []) as string[],
  })
  const r = complianceReport(framework, ev)
  if (values.json) {
    await writeOut(process.stdout, JSON.stringify({ ...r, verification: ev.verify }) + '\n')
  } else {
    const mark: Record<ControlStatus, string> = { met: 'MET', 'not-met': 'NOT MET', 'cannot-assess': 'CANNOT ASSESS' }
    await writeOut(process.stdout,
      `${r.frameworkTitle}\n${file} (container ${r.containerId ?? '?'})\n\n` +
      r.controls.map((c) => `${mark[c.status].padEnd(14)} ${c.id}  ${c.title}\n` + c.evidence.map((e) => `               - ${e}\n`).join('')).join('') +
      `\n${r.summary.met} met, ${r.summary['not-met']} not met, ${r.summary['cannot-assess']} cannot be assessed from the container` +
      (r.cannotAssess.length ? ` (${r.cannotAssess.join('; ')})` : '') + '\n')
  }
  return r.ok ? 0 : 1
}

export default async function compliance(args: string[]): Promise<number> {
  const [sub, ...rest] = args
  if (sub === 'report') return report(rest)
  if (sub !== 'check') usage(`compliance takes a subcommand: check or report (got ${sub === undefined ? 'nothing' : `'${sub}'`})`)
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
    const r = kind === 'container' ? containerAlgorithms(await inspectContainer(file)) : await pipelineAlgorithms(file, strOpt(values.keyring))
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
