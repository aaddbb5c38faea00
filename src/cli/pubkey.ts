// `maif pubkey --kms-key-id ID -o FILE`: the public key of an asymmetric KMS signing key, written as PEM
// SubjectPublicKeyInfo, the format of a keyring's maif.pub, so that `verify --pub FILE` pins a KMS signer.
import { open } from 'node:fs/promises'
import { KMSClient } from '@aws-sdk/client-kms'
import { MaifError, wrapError } from '../core/errors.js'
import { awsClientConfig } from '../core/aws/config.js'
import { kmsPublicKey } from '../core/format/kms/signer.js'
import { algOfKey, keyIdOf } from '../core/format/signing.js'
import { parse, strOpt, usage } from './args.js'

export default async function pubkey(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { 'kms-key-id': { type: 'string' }, out: { type: 'string', short: 'o' }, force: { type: 'boolean' } })
  if (positionals.length > 0) usage('pubkey takes no positional arguments')
  const keyId = strOpt(values['kms-key-id'])
  if (!keyId) usage('pubkey needs --kms-key-id ID')
  const out = strOpt(values.out)
  if (!out) usage('pubkey needs -o FILE')
  const client = new KMSClient(awsClientConfig('KMS'))
  try {
    const key = await kmsPublicKey(client, keyId!)
    let alg: string
    try {
      alg = algOfKey(key)
    } catch (cause) {
      throw new MaifError('MAIF_ERR_KMS_KEY_USAGE', `KMS key ${keyId} is not a key maif signs with (ECC_NIST_P256 or RSA_3072)`, { cause })
    }
    const pem = key.export({ type: 'spki', format: 'pem' }).toString()
    try {
      const fh = await open(out!, values.force ? 'w' : 'wx', 0o644)
      try {
        await fh.writeFile(pem)
      } finally {
        await fh.close()
      }
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'EEXIST') throw new MaifError('MAIF_ERR_IO', `${out} already exists; pass --force to replace it`, { cause })
      throw wrapError('MAIF_ERR_IO', `cannot write ${out}`, cause)
    }
    process.stdout.write(`wrote ${out}: the ${alg} public key of KMS key ${keyId}\nsigner key id ${keyIdOf(key).toString('hex')}\n`)
    return 0
  } finally {
    client.destroy()
  }
}
