// A real moto server (S3, KMS, CloudWatch Logs and metrics over the AWS wire protocols) for one test file.
// Each file starts its own server on a free loopback port, so files run in parallel without sharing state,
// and stops it at teardown. A machine without moto fails the test with the command that installs it: it
// never skips.
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import type { Test } from 'tap'

export interface MotoServer {
  /** `http://127.0.0.1:PORT` */
  endpoint: string
  port: number
  /** Client options every AWS SDK v3 client accepts. */
  clientConfig: { region: string; endpoint: string; credentials: { accessKeyId: string; secretAccessKey: string } }
  /** Environment for a child process (the CLI) that should reach this server through the SDK's own variables. */
  env: Record<string, string>
  /** Clears every bucket, key, log group and metric. */
  reset(): Promise<void>
  stop(): Promise<void>
}

const INSTALL = 'pip install "moto[server]"  (or: apt-get install -y python3-pip && pip install "moto[server]")'

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

async function ready(endpoint: string, child: ChildProcess, stderr: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto server exited with code ${child.exitCode}: ${stderr().slice(-2000)}\nInstall it with: ${INSTALL}`)
    try {
      const res = await fetch(`${endpoint}/moto-api/`)
      if (res.status === 200) { await res.arrayBuffer(); return }
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`moto server did not answer on ${endpoint} within ${timeoutMs} ms: ${stderr().slice(-2000)}\nInstall it with: ${INSTALL}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Starts moto's server. Call from a test file; `t.teardown` stops it. */
export async function startMoto(t?: Test): Promise<MotoServer> {
  const port = await freePort()
  const endpoint = `http://127.0.0.1:${port}`
  const python = process.env.MAIF_TEST_PYTHON ?? 'python3'
  const child = spawn(python, ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  })
  let err = ''
  child.stderr?.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-8000) })
  const spawnFailed = new Promise<never>((_, reject) => child.once('error', (e) => reject(new Error(`cannot run ${python}: ${e.message}\nInstall moto with: ${INSTALL}`))))
  try {
    await Promise.race([ready(endpoint, child, () => err, 20_000), spawnFailed])
  } catch (e) {
    // A server that is still starting would keep the test process alive after the failure: stop it.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    throw e
  }

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    await new Promise<void>((resolve) => { child.once('exit', () => resolve()); child.kill('SIGTERM') })
  }
  const server: MotoServer = {
    endpoint,
    port,
    clientConfig: { region: 'us-east-1', endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } },
    env: {
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      // Keep the SDK from reading a developer's own profile or IMDS during tests.
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    async reset() {
      const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' })
      await res.arrayBuffer()
      if (res.status !== 200) throw new Error(`moto reset answered ${res.status}`)
    },
    stop,
  }
  t?.teardown(stop)
  return server
}
