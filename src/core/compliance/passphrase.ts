// A passphrase policy with a DISA STIG profile (Application Security and Development STIG: V-222536 at least
// 15 characters; V-222537..V-222540 upper case, lower case, digit and special character; V-222541-style change
// from the previous one; no long runs of one character). NIST SP 800-63B discourages composition rules, so the
// policy is configurable and the STIG profile is a preset. It reports every rule a passphrase breaks, naming
// the rule, never echoing the passphrase.
import { MaifError } from '../errors.js'

export interface PassphrasePolicy {
  minLength: number
  upper: boolean
  lower: boolean
  digit: boolean
  special: boolean
  /** Longest run of one repeated character allowed (e.g. 3 allows "aaa", refuses "aaaa"). */
  maxRepeated: number
  /** Characters that must differ from the previous passphrase (position by position, plus the length change). */
  minChangedFromPrevious: number
}

/** The STIG profile: 15 characters, all four classes, no run of more than 3, at least 8 characters changed. */
export const STIG_PASSPHRASE_POLICY: PassphrasePolicy = { minLength: 15, upper: true, lower: true, digit: true, special: true, maxRepeated: 3, minChangedFromPrevious: 8 }

export interface PassphraseCheck { ok: boolean; failures: Array<{ rule: string; message: string }> }

/** How many characters differ between two passphrases, position by position, plus the difference in length. */
export function charactersChanged(a: string, b: string): number {
  const x = [...a]
  const y = [...b]
  let n = Math.abs(x.length - y.length)
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) n++
  return n
}

export function checkPassphrase(passphrase: string, opts: { previous?: string; policy?: Partial<PassphrasePolicy> } = {}): PassphraseCheck {
  const p = { ...STIG_PASSPHRASE_POLICY, ...opts.policy }
  const chars = [...passphrase]
  const failures: PassphraseCheck['failures'] = []
  const fail = (rule: string, message: string): void => { failures.push({ rule, message }) }
  if (chars.length < p.minLength) fail('min-length', `at least ${p.minLength} characters (it has ${chars.length})`)
  if (p.upper && !/\p{Lu}/u.test(passphrase)) fail('upper', 'at least one upper-case letter')
  if (p.lower && !/\p{Ll}/u.test(passphrase)) fail('lower', 'at least one lower-case letter')
  if (p.digit && !/\p{Nd}/u.test(passphrase)) fail('digit', 'at least one digit')
  if (p.special && !/[^\p{L}\p{Nd}]/u.test(passphrase)) fail('special', 'at least one special character (not a letter or digit)')
  let run = 1
  let longest = chars.length > 0 ? 1 : 0
  for (let i = 1; i < chars.length; i++) {
    run = chars[i] === chars[i - 1] ? run + 1 : 1
    longest = Math.max(longest, run)
  }
  if (longest > p.maxRepeated) fail('max-repeated', `no character repeated more than ${p.maxRepeated} times in a row (it has a run of ${longest})`)
  if (opts.previous !== undefined && charactersChanged(passphrase, opts.previous) < p.minChangedFromPrevious) fail('changed-from-previous', `at least ${p.minChangedFromPrevious} characters changed from the previous passphrase`)
  return { ok: failures.length === 0, failures }
}

/** Throws MAIF_ERR_PASSPHRASE_POLICY listing every rule the passphrase breaks. */
export function assertPassphrase(passphrase: string, opts: { previous?: string; policy?: Partial<PassphrasePolicy> } = {}): void {
  const r = checkPassphrase(passphrase, opts)
  if (!r.ok) throw new MaifError('MAIF_ERR_PASSPHRASE_POLICY', `the passphrase does not meet the policy: ${r.failures.map((f) => f.message).join('; ')}`)
}
