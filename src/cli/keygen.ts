import { generateKeyring } from '../core/format/keyring.js'
import { SIGNATURE_ALGS, type SignatureAlg } from '../core/format/signing.js'
import { parse, usage } from './args.js'

export default async function keygen(args: string[]): Promise<number> {
  const { values } = parse(args, { out: { type: 'string' }, alg: { type: 'string' }, force: { type: 'boolean' } })
  if (!values.out) usage('keygen needs --out DIR')
  const alg = (values.alg ?? 'ecdsa-p256') as SignatureAlg
  if (!(alg in SIGNATURE_ALGS)) usage(`--alg must be one of ${Object.keys(SIGNATURE_ALGS).join(', ')}`)
  const r = await generateKeyring(values.out as string, { alg, force: values.force === true })
  process.stdout.write(`wrote ${r.keyFile} (secret, mode 0600) and ${r.pubFile}\nsigner key id ${r.keyId}\n`)
  return 0
}
