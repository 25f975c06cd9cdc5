import { Server as HttpServer, type IncomingMessage } from 'node:http'
import { Server as HttpsServer } from 'node:https'
import type { Socket } from 'node:net'
import type { WebSocketServer } from 'ws'
import { DeadlineQueue } from '../hub/deadlines.js'

const REQUEST_TIMEOUT = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'

/**
 * Closes every connection that has neither sent a complete HTTP request nor finished a WebSocket
 * handshake within `timeout` ms of connecting: with a bare 408 when nothing was answered yet,
 * then the socket is destroyed.
 *
 * Node's own limit for this is the server's `headersTimeout` (60 s, checked only every
 * `connectionsCheckingInterval` of 30 s, so up to 90 s), and it ends at the headers: an upgrade
 * whose hooks never finish is not covered. Those settings belong to the application and apply to
 * all of its requests, so they are left alone; this deadline runs beside them and ends at the
 * first of:
 *
 * - the server's `request` event: the headers of an ordinary HTTP request are complete, and from
 *   then on the application's own limits (`requestTimeout`, `keepAliveTimeout`, ...) apply, so a
 *   slow upload or an idle keep-alive connection is never cut by this one;
 * - the WebSocket server's `connection` event: the upgrade is done (for any route of the
 *   @fastify/websocket instance, the application's own included).
 *
 * Only HTTP/1 servers (`http` and `https`) upgrade; any other server is left to its own limits.
 * Returns a function that stops it (at close).
 */
export function limitUpgradeTime(server: unknown, websocketServer: WebSocketServer, timeout: number): () => void {
  if (!(server instanceof HttpServer) && !(server instanceof HttpsServer)) return () => {}
  // Where a connection keeps the ticket of its deadline while it has one (cancelled when it
  // settles, so that the queue lets go of it): a property of the socket, one key per limiter,
  // rather than a WeakMap entry, which costs the collector more on every connection.
  const TICKET = Symbol('roomcast.upgradeDeadline')
  type Pending = Socket & { [TICKET]?: number | undefined }
  // A plain 408 would be noise inside TLS: TLS connections are only cut.
  const plain = server instanceof HttpServer
  // Only a deadline never cancelled expires: its socket has not settled (see `forget`).
  const deadlines = new DeadlineQueue<Pending>(timeout, (socket) => {
    socket[TICKET] = undefined
    if (socket.destroyed) return
    if (plain && socket.writable && socket.bytesWritten === 0) socket.write(REQUEST_TIMEOUT)
    socket.destroy()
  })
  const onConnection = (socket: Pending): void => {
    socket[TICKET] = deadlines.add(socket)
  }
  const forget = (socket: Pending): void => {
    const ticket = socket[TICKET]
    if (ticket === undefined) return
    socket[TICKET] = undefined
    deadlines.cancel(ticket)
  }
  const settle = (request: IncomingMessage): void => {
    // A request made by `injectWS` has no socket.
    const socket = request.socket as (Pending & { _parent?: Pending | null }) | undefined
    if (socket == null) return
    forget(socket)
    // Under TLS the deadline is on the TCP socket that the request's TLS socket wraps.
    if (socket._parent != null) forget(socket._parent)
  }
  const onUpgraded = (_ws: unknown, request: IncomingMessage): void => settle(request)
  server.on('connection', onConnection)
  server.on('request', settle)
  websocketServer.on('connection', onUpgraded)
  return () => {
    server.off('connection', onConnection)
    server.off('request', settle)
    websocketServer.off('connection', onUpgraded)
    deadlines.clear()
  }
}
