// The single-writer lock of a container: `FILE.lock`, created with O_EXCL, holding the owner's pid, host, process
// start time and a random nonce. Only the holder appends to FILE (or cuts it, for recover). A lock whose pid is
// dead on this host (or whose pid now belongs to a process that started later) is stale and is taken over; a lock
// held by a live process, or by a process on another host (whose liveness cannot be checked), is refused with
// MAIF_ERR_LOCKED naming the holder. The holder removes its lock when it closes, and at process exit.
import { open, readFile, rename, unlink, link } from 'node:fs/promises'
import { readFileSync, statSync, unlinkSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { MaifError, wrapError } from '../errors.js'

export interface LockHolder {
  pid: number
  host: string
  /** The holder's start time in clock ticks since boot (/proc/PID/stat field 22), when the OS has /proc. */
  start: string | null
  since: string
  purpose: string
  nonce: string
}

/** Locks held by this process, removed synchronously if it exits without closing them. */
const held = new Map<string, string>()
let exitHook = false

function onExit(): void {
  for (const [path, nonce] of held) {
    try {
      if (parseHolder(readFileSync(path, 'utf8'))?.nonce === nonce) unlinkSync(path)
    } catch {
      // already gone, or unreadable: nothing more can be done while exiting
    }
  }
}

/** Field 22 of /proc/PID/stat (start time); null where there is no /proc or no such process. */
export function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return fields[19] ?? null
  } catch {
    return null
  }
}

function parseHolder(text: string): LockHolder | null {
  try {
    const v = JSON.parse(text) as Partial<LockHolder>
    if (typeof v !== 'object' || v === null || !Number.isSafeInteger(v.pid) || typeof v.host !== 'string' || typeof v.nonce !== 'string') return null
    return { pid: v.pid!, host: v.host, start: typeof v.start === 'string' ? v.start : null, since: String(v.since ?? ''), purpose: String(v.purpose ?? ''), nonce: v.nonce }
  } catch {
    return null
  }
}

/** Whether the holder of a lock written on this host still runs. */
function alive(h: LockHolder): boolean {
  try {
    process.kill(h.pid, 0)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false
  }
  // The pid exists (or belongs to another user): it is the holder unless it started at another time (pid reuse).
  if (h.start !== null) {
    const now = processStart(h.pid)
    if (now !== null && now !== h.start) return false
  }
  return true
}

function describe(h: LockHolder): string {
  return `pid ${h.pid} on host ${h.host}${h.purpose ? ` (${h.purpose})` : ''}${h.since ? ` since ${h.since}` : ''}`
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export class ContainerLock {
  readonly path: string
  readonly holder: LockHolder
  #released = false

  private constructor(path: string, holder: LockHolder) {
    this.path = path
    this.holder = holder
  }

  /** Takes the lock of `container` (the file FILE.lock beside it), or throws MAIF_ERR_LOCKED naming its holder. */
  static async acquire(container: string, purpose: string): Promise<ContainerLock> {
    const path = `${container}.lock`
    const me: LockHolder = { pid: process.pid, host: hostname(), start: processStart(process.pid), since: new Date().toISOString(), purpose, nonce: randomBytes(16).toString('hex') }
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        const fh = await open(path, 'wx', 0o644)
        try {
          await fh.writeFile(JSON.stringify(me) + '\n')
          await fh.datasync()
        } finally {
          await fh.close()
        }
        held.set(path, me.nonce)
        if (!exitHook) {
          exitHook = true
          process.on('exit', onExit)
        }
        return new ContainerLock(path, me)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw wrapError('MAIF_ERR_IO', `cannot create the lock file ${path}`, err)
      }
      let text: string
      try {
        text = await readFile(path, 'utf8')
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue // released meanwhile: try again
        throw wrapError('MAIF_ERR_IO', `cannot read the lock file ${path}`, err)
      }
      const h = parseHolder(text)
      if (h === null) {
        // Being written by its creator this very moment, or left unreadable by a crash right after it was
        // created: wait a little, then treat it as stale.
        if (ageMs(path) < 2000) await sleep(50)
        else await breakStale(path, text)
        continue
      }
      if (h.host !== me.host) {
        throw new MaifError('MAIF_ERR_LOCKED', `${container} is locked by ${describe(h)}; its liveness cannot be checked from host ${me.host}: wait for it, or remove ${path} if that writer is gone`)
      }
      if (alive(h)) {
        throw new MaifError('MAIF_ERR_LOCKED', `${container} is locked by ${describe(h)}: one writer at a time; wait for it to finish`)
      }
      // The holder is dead on this host: the lock is stale (a crashed or killed writer). Take it over.
      await breakStale(path, text)
    }
    throw new MaifError('MAIF_ERR_LOCKED', `${container} is locked: the lock file ${path} kept changing or could not be read while taking it; if no writer is running, remove it`)
  }

  /** Removes the lock if it is still ours. Idempotent. */
  async release(): Promise<void> {
    if (this.#released) return
    this.#released = true
    held.delete(this.path)
    try {
      if (parseHolder(await readFile(this.path, 'utf8'))?.nonce === this.holder.nonce) await unlink(this.path)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw wrapError('MAIF_ERR_IO', `cannot remove the lock file ${this.path}`, err)
    }
  }
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs
  } catch {
    return 0
  }
}

/**
 * Removes a stale lock whose content was `text`, without removing a fresh lock that replaced it meanwhile: the
 * lock is moved aside atomically, and put back if what was moved is not the stale one. Returns whether it went.
 */
async function breakStale(path: string, text: string): Promise<boolean> {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`
  try {
    await rename(path, aside)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false // someone else took it over first
    throw wrapError('MAIF_ERR_IO', `cannot take over the stale lock ${path}`, err)
  }
  const moved = await readFile(aside, 'utf8').catch(() => '')
  if (moved !== text) {
    // A live lock replaced the stale one between reading and moving: put it back (unless yet another exists).
    await link(aside, path).catch(() => undefined)
  }
  await unlink(aside).catch(() => undefined)
  return moved === text
}
