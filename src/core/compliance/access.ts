// Classification labels and clearance checks. A block's label lives in its public metadata (`label`, cleartext
// and authenticated as AAD, FORMAT.md §5.3) as `LEVEL` or `LEVEL//COMP1/COMP2`. A reader holds a grant: who,
// up to which level, which compartments, until when. A read is allowed when the grant has not expired, the
// block's level is at or below the grant's, and every compartment of the block is in the grant; else it is
// refused with MAIF_ERR_ACCESS_DENIED (and audited by the caller). Blocks without a label are UNCLASSIFIED.
import { CLASSIFICATIONS, type Classification } from '../audit/events.js'
import { MaifError } from '../errors.js'

export interface Label { level: Classification; compartments: string[] }
export interface Grant { user: string; clearance: Classification; compartments?: string[]; expires?: string }

const COMPARTMENT = /^[A-Z0-9][A-Z0-9_-]{0,31}$/

export function formatLabel(l: Label): string {
  const comps = [...new Set(l.compartments)].sort()
  return comps.length ? `${l.level}//${comps.join('/')}` : l.level
}

export function parseLabel(s: string | null | undefined): Label {
  if (s === null || s === undefined || s === '') return { level: 'UNCLASSIFIED', compartments: [] }
  const [level, comps] = s.split('//', 2) as [string, string | undefined]
  if (!(CLASSIFICATIONS as readonly string[]).includes(level)) throw new MaifError('MAIF_ERR_ACCESS_DENIED', `unknown classification '${level}' (known: ${CLASSIFICATIONS.join(', ')}); refusing to guess`)
  const compartments = comps ? comps.split('/') : []
  for (const c of compartments) if (!COMPARTMENT.test(c)) throw new MaifError('MAIF_ERR_ACCESS_DENIED', `malformed compartment '${c}' in label '${s}'`)
  return { level: level as Classification, compartments }
}

export function checkCompartment(c: string): string {
  if (!COMPARTMENT.test(c)) throw new MaifError('MAIF_ERR_INVALID_OPTION', `compartment '${c}' must be 1-32 upper-case letters, digits, _ or -`)
  return c
}

/** Why a grant does not allow reading a label, or null when it does. */
export function denial(grant: Grant, label: Label, now = Date.now()): string | null {
  if (grant.expires !== undefined) {
    const t = Date.parse(grant.expires)
    if (!Number.isFinite(t) || t <= now) return `the grant of ${grant.user} expired at ${grant.expires}`
  }
  if (CLASSIFICATIONS.indexOf(label.level) > CLASSIFICATIONS.indexOf(grant.clearance)) return `${label.level} is above ${grant.user}'s clearance ${grant.clearance}`
  const missing = label.compartments.filter((c) => !(grant.compartments ?? []).includes(c))
  if (missing.length) return `${grant.user} is not read into compartment(s) ${missing.join(', ')}`
  return null
}

/** Parses a grant (a JSON object from a file) strictly. */
export function parseGrant(v: unknown): Grant {
  const bad = (m: string): never => { throw new MaifError('MAIF_ERR_INVALID_OPTION', `grant: ${m}`) }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) bad('must be a JSON object { user, clearance, compartments?, expires? }')
  const o = v as Record<string, unknown>
  for (const k of Object.keys(o)) if (!['user', 'clearance', 'compartments', 'expires'].includes(k)) bad(`unknown key '${k}'`)
  if (typeof o.user !== 'string' || o.user === '') bad('user must be a non-empty string')
  if (typeof o.clearance !== 'string' || !(CLASSIFICATIONS as readonly string[]).includes(o.clearance)) bad(`clearance must be one of ${CLASSIFICATIONS.join(', ')}`)
  if (o.compartments !== undefined && (!Array.isArray(o.compartments) || !o.compartments.every((c) => typeof c === 'string'))) bad('compartments must be a list of strings')
  for (const c of (o.compartments as string[] | undefined) ?? []) checkCompartment(c)
  if (o.expires !== undefined && (typeof o.expires !== 'string' || !Number.isFinite(Date.parse(o.expires)))) bad('expires must be an ISO 8601 time')
  return { user: o.user as string, clearance: o.clearance as Classification, ...(o.compartments ? { compartments: o.compartments as string[] } : {}), ...(o.expires ? { expires: o.expires as string } : {}) }
}
