import type { Server } from 'node:http'
import type { Duplex } from 'node:stream'

const SERVICE_UNAVAILABLE = 'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'

/**
 * From shutdown on, hangs up on every upgrade request. Fastify answers requests that arrive
 * while it closes with a 503 of its own, but for an upgrade nothing then closes the TCP socket
 * (the HTTP server no longer owns it), so a client that does not hang up itself would keep
 * `server.close()`, and with it `app.close()`, waiting forever. Runs after the other upgrade
 * listeners: when one of them already answered, the socket is just ended; when none did, it gets
 * a bare 503 first.
 */
export function hangUpLateUpgrades(server: Server): void {
  server.on('upgrade', (_request: unknown, socket: Duplex & { bytesWritten?: number }) => {
    if (socket.destroyed) return
    if (socket.bytesWritten === 0) socket.end(SERVICE_UNAVAILABLE)
    else socket.end()
  })
}
