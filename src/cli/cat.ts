import { isUtf8 } from 'node:buffer'
import { readFile } from 'node:fs/promises'
import { verifyContainer, type VerifyResult } from '../core/container/verify.js'
import { parseGrant, type Grant } from '../core/compliance/access.js'
import { AccessGuard } from '../core/compliance/granted-read.js'
import { MaifError, wrapError } from '../core/errors.js'
import { ContainerReader } from '../core/container/reader.js'
import { bytesOpt, parse, usage, writeOut } from './args.js'
import { keyringFrom, pinnedKeys } from './keys.js'
import { readKeyProvider } from '../core/format/kms/read-keys.js'
import { OffsetDedupe } from '../core/kafka/dedupe.js'
import { auditCli, auditKeys } from './audit-log.js'
import { BlockOutput, stdoutFd } from './block-output.js'

export default async function cat(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    keyring: { type: 'string' }, pub: { type: 'string', multiple: true }, type: { type: 'string' }, seq: { type: 'string' }, grant: { type: 'string' }, jsonl: { type: 'boolean' }, json: { type: 'boolean' },
    dedupe: { type: 'boolean' }, 'dedupe-field': { type: 'string' }, window: { type: 'string' }, 'max-box': { type: 'string' },
  })
  if (positionals.length !== 1) usage('cat takes one FILE')
  if (values.json && values.seq === undefined) usage('--json describes one block: use it with --seq N')
  const window = bytesOpt(values.window, 'window')
  const maxBoxBytes = bytesOpt(values['max-box'], 'max-box')
  const limit = maxBoxBytes === undefined ? {} : { maxBoxBytes }
  // Without a keyring, cat still reads sessions whose keys KMS wrapped; a keyring session then fails naming --keyring.
  const keyring = await keyringFrom(values.keyring)
  const keys = auditKeys(readKeyProvider(keyring), positionals[0]!)
  const pinned = await pinnedKeys(values.pub, keyring)
  const out = process.stdout
  // --dedupe: JSON records with Kafka coordinates (the kafka source's metadataField) print once.
  const dedupe = values.dedupe ? new OffsetDedupe(typeof values['dedupe-field'] === 'string' ? values['dedupe-field'] : '_kafka') : null
  const emit = async (type: string, data: Buffer): Promise<void> => { await writeOut(out, dedupe && type === 'JSON' ? dedupe.filterBlock(data) : data) }
  // Blocks streamed from verify share one buffer (reuseData): the output copies each before the next is opened.
  const direct = values.seq === undefined ? stdoutFd() : null
  const output = new BlockOutput(out, direct?.fd ?? null)
  const emitFlushed = (type: string, data: Buffer): Promise<void> => output.write(dedupe && type === 'JSON' ? dedupe.filterBlock(data) : data)
  const grant = values.grant === undefined ? undefined : await readGrant(String(values.grant))
  // With --grant, a block the grant does not cover is withheld and the refusal audited (MAIF_AUDIT_LOG).
  const guard = grant ? new AccessGuard({ grant, audit: auditCli, file: positionals[0]! }) : undefined
  const allowed = (b: { seq: number; type: string; pub: Record<string, unknown> }): boolean => {
    const why = guard?.refuse(b) ?? null
    if (why === null) return true
    process.stderr.write(`maif: MAIF_ERR_ACCESS_DENIED: block ${b.seq} withheld: ${why}\n`)
    return false
  }
  const wanted = (type: string): boolean => (values.type === undefined || values.type === type) && (!values.jsonl || type === 'JSON' || type === 'TEXT')
  if (values.seq !== undefined) {
    const seq = Number(values.seq)
    if (!Number.isInteger(seq) || seq < 0) usage('--seq must be a non-negative integer')
    const reader = await ContainerReader.open(positionals[0]!, { keyProvider: keys, pinned, ...limit })
    try {
      const b = await reader.readBlock(seq)
      if (!allowed(b)) throw new MaifError('MAIF_ERR_ACCESS_DENIED', `block ${seq} is above the grant of ${grant!.user}`)
      auditCli({ action: 'container.decrypt', outcome: 'success', category: ['file'], type: ['access'], file: { path: positionals[0]! }, maif: { seq, blocks_decrypted: 1 } })
      if (values.json) {
        // The block, and what reading it cost: for an s3:// object, the HEAD and ranged GETs and their bytes.
        const utf8 = isUtf8(b.data)
        await writeOut(out, JSON.stringify({
          seq: b.seq, type: b.type, flags: b.flags, pub: b.pub, encoding: utf8 ? 'utf8' : 'base64',
          data: b.data.toString(utf8 ? 'utf8' : 'base64'), io: reader.io,
        }) + '\n')
      } else if (wanted(b.type)) await emit(b.type, b.data)
    } finally {
      await reader.close()
    }
    return 0
  }
  let released = 0
  let r: VerifyResult
  try {
    r = await verifyContainer(positionals[0]!, {
      keyProvider: keys, pinned, ...(window === undefined ? {} : { window }), ...limit, reuseData: true,
      onBlock: async (b) => { if (!wanted(b.type) || !allowed(b)) return; released++; await emitFlushed(b.type, b.data) },
    })
  } finally {
    // Whatever stopped the read, the blocks released before it were verified: they are written.
    try {
      await output.flush()
    } finally {
      direct?.close()
    }
  }
  auditCli({
    action: 'container.decrypt', outcome: r.ok ? 'success' : 'failure', category: ['file'], type: ['access'], file: { path: positionals[0]! },
    ...(r.errors[0] ? { error: { code: r.errors[0].code, message: r.errors[0].message } } : {}),
    maif: { container_id: r.containerId, blocks_decrypted: released, tree_size: r.treeSize },
  })
  const denied = guard?.denied ?? 0
  if (denied > 0) throw new MaifError('MAIF_ERR_ACCESS_DENIED', `${denied} block(s) withheld: above the grant of ${grant!.user} (the refusals are in the audit log when MAIF_AUDIT_LOG is set)`)
  if (!r.ok) {
    for (const e of r.errors) process.stderr.write(`maif: ${e.code}: ${e.message}\n`)
    return 1
  }
  if (dedupe?.dropped) process.stderr.write(`maif: ${dedupe.dropped} duplicate records left out (--dedupe)\n`)
  return 0
}

async function readGrant(path: string): Promise<Grant> {
  let v: unknown
  try {
    v = JSON.parse(await readFile(path, 'utf8'))
  } catch (err) {
    throw wrapError('MAIF_ERR_USAGE', `--grant ${path} is not a readable JSON file`, err)
  }
  return parseGrant(v)
}
