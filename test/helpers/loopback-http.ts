// The HTTP plumbing the loopback Elasticsearch and Splunk HEC servers share: listen on 127.0.0.1 on a free port,
// drop every connection while the service is "down" (a real outage, seen by the client as a reset), hand each
// request to the service, and on close destroy the open keep-alive sockets so that tests end promptly.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

export interface Loopback { url: string; close(): Promise<void> }

export async function listenLoopback(
  faults: { down?: boolean | undefined },
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  onError: (res: ServerResponse, err: Error) => void,
): Promise<Loopback> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((req, res) => {
    if (faults.down) { req.socket.destroy(); return }
    handle(req, res).catch((err: unknown) => onError(res, err as Error))
  })
  server.on('connection', (s: Socket) => {
    if (faults.down) { s.destroy(); return }
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const addr = server.address()
  const port = typeof addr === 'object' && addr ? addr.port : 0
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()) }),
  }
}
