import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url))

export interface CliResult { code: number; stdout: string; stderr: string; maxRssKiB: number | null }

/** Runs the built CLI as a real child process. */
export function maif(args: string[], opts: { stdoutFile?: NodeJS.WritableStream; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, MAIF_PRINT_MAXRSS: '1', ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    if (opts.stdoutFile) child.stdout.pipe(opts.stdoutFile)
    else child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    child.on('error', reject)
    child.on('close', (code) => {
      const m = /maxrss_kib=(\d+)/.exec(stderr)
      resolve({ code: code ?? -1, stdout, stderr: stderr.replace(/maif: maxrss_kib=\d+\n/, ''), maxRssKiB: m ? Number(m[1]) : null })
    })
  })
}
