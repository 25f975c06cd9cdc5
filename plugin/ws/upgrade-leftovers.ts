import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyRequest } from 'fastify'
import type WebSocket from 'ws'

/** @fastify/websocket's private symbol for the head buffer, looked up again only when it is not on a request. */
let headSymbol: symbol | undefined

/**
 * Lets go of what the HTTP upgrade left behind on a connection, so that an idle connection costs
 * little more than its socket (about 1 KiB less per connection):
 *
 * - @fastify/websocket routes the upgrade through Fastify with a `ServerResponse` assigned to the
 *   TCP socket. The reply is hijacked and nothing is ever written through that response, but the
 *   socket keeps it (`_httpMessage`) and, through it, Fastify's reply for the connection's life.
 * - It also keeps the upgrade's head buffer on the raw request, which pins the whole first TCP
 *   chunk (the request bytes).
 *
 * Its per-socket `error` listener, which holds the request and the reply, is replaced by
 * `attachPeer` when roomcast registered @fastify/websocket itself. Each step checks the
 * internals it relies on at run time and does nothing when they differ.
 */
export function releaseUpgradeLeftovers(ws: WebSocket, request: FastifyRequest): void {
  const socket = (ws as unknown as { _socket?: Socket & { _httpMessage?: ServerResponse | null } })._socket
  const response = socket?._httpMessage
  if (socket !== undefined && response != null && typeof response.detachSocket === 'function') response.detachSocket(socket)

  const raw = request.raw as unknown as Record<symbol, unknown>
  if (headSymbol === undefined || !(headSymbol in raw)) {
    headSymbol = Object.getOwnPropertySymbols(raw).find((symbol) => symbol.description === 'ws-head')
  }
  // Assigned rather than deleted: deleting would turn the request into a slower, larger dictionary object.
  if (headSymbol !== undefined && raw[headSymbol] !== undefined) raw[headSymbol] = undefined
}
