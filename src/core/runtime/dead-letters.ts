// Dead-letter file: one JSON line per record that could not be processed, written synchronously so that
// it is durable before the cursor moves past the record (sync() at every commit).
import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import { wrapError } from '../errors.js'
import type { DeadLetter } from './record-stages.js'

export class DeadLetterFile {
  readonly path: string
  #fd: number | null = null
  count = 0

  constructor(path: string) {
    this.path = path
  }

  write(d: DeadLetter): void {
    try {
      if (this.#fd === null) {
        mkdirSync(dirname(this.path), { recursive: true })
        this.#fd = openSync(this.path, 'a', 0o600)
      }
      writeSync(this.#fd, JSON.stringify({ time: new Date().toISOString(), ...d }) + '\n')
      this.count++
    } catch (cause) {
      throw wrapError('MAIF_ERR_IO', `cannot write the dead-letter file ${this.path}`, cause)
    }
  }

  sync(): void {
    if (this.#fd !== null) fsyncSync(this.#fd)
  }

  close(): void {
    if (this.#fd === null) return
    fsyncSync(this.#fd)
    closeSync(this.#fd)
    this.#fd = null
  }
}
