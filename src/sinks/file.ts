// Sink `file`: JSONL appended to a file. Writes are made durable by group commit (fdatasync once a second,
// and at the end), and acknowledged then. Also the default dead-letter output.
import { mkdirSync } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { z } from 'zod'
import { MaifError, wrapError } from '../core/errors.js'
import { defineSink } from '../core/runtime/component.js'
import { assertWritable } from '../core/runtime/fs-checks.js'
import type { Batch, SinkInstance } from '../core/runtime/types.js'

const SYNC_MS = 1000

/**
 * A file that does not end in a newline (a line torn by a crash mid-write, never acknowledged, or a file
 * written by hand) gets one before the first append, so the new record starts a line of its own. Nothing
 * is cut: the torn line stays, as one unparseable line, rather than gluing onto the next record.
 */
async function endLastLine(fh: FileHandle): Promise<void> {
  const { size } = await fh.stat()
  if (size === 0) return
  const last = Buffer.alloc(1)
  await fh.read(last, 0, 1, size - 1)
  if (last[0] !== 0x0a) await fh.write('\n')
}

export const fileSink = defineSink({
  type: 'file',
  acknowledgements: 'self',
  description: 'append JSONL records to a file',
  options: {
    path: z.string().min(1).describe('JSONL file to write'),
  },
  paths: (o) => ({ writes: [o.path] }),
  check: (o, ctx) => assertWritable(o.path, ctx.cwd),
  build(o, ctx): SinkInstance {
    const path = resolve(ctx.cwd, o.path)
    let fh: FileHandle | null = null
    let written = 0
    let durable = 0
    let lastSync = Date.now()
    let commits = 0
    const sync = async (): Promise<void> => {
      if (written === durable) return
      const upTo = written
      await ctx.acks.committing(upTo)
      if (fh) {
        // /dev/null and other character devices cannot be fsynced (EINVAL): there is nothing to make durable.
        await fh.datasync().catch((err: NodeJS.ErrnoException) => { if (err.code !== 'EINVAL' && err.code !== 'ENOTSUP') throw err })
      }
      durable = upTo
      lastSync = Date.now()
      commits++
      ctx.acks.committed(upTo)
    }
    return {
      async write(b: Batch) {
        if (b.kind !== 'lines') throw new MaifError('MAIF_ERR_RECORD', `the file sink ${o.path} takes line records, not binary`)
        try {
          if (b.data.length > 0) {
            if (!fh) {
              mkdirSync(dirname(path), { recursive: true })
              fh = await open(path, 'a+', 0o600)
              await endLastLine(fh)
            }
            await fh.write(b.data)
          }
          written += b.count
          if (Date.now() - lastSync >= SYNC_MS) await sync()
        } catch (err) {
          throw wrapError('MAIF_ERR_IO', `writing to ${o.path} failed`, err)
        }
      },
      async flush() {
        try {
          await sync()
        } catch (err) {
          throw wrapError('MAIF_ERR_IO', `syncing ${o.path} failed`, err)
        }
      },
      async close() {
        try {
          await sync()
          await fh?.close()
          fh = null
        } catch (err) {
          throw wrapError('MAIF_ERR_IO', `closing ${o.path} failed`, err)
        }
      },
      async destroy() {
        await fh?.close().catch(() => undefined)
        fh = null
      },
      describe: () => ({ path, commits }),
    }
  },
})
