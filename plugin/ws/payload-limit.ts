import type WebSocket from 'ws'

/**
 * Lowers ws's own frame limit on one socket to `maxPayload`. When the application registered
 * @fastify/websocket itself, ws was configured with the application's limit (100 MiB by default),
 * not ours; without this, ws would buffer a whole oversized message before any listener could
 * refuse it. ws then closes with 1009 on its own. Checked at run time: if ws's internals change,
 * the per-message check in the route still enforces the limit, only later.
 */
export function limitIncomingPayload(ws: WebSocket, maxPayload: number): void {
  const receiver = (ws as unknown as { _receiver?: { _maxPayload?: unknown } })._receiver
  if (receiver === undefined || typeof receiver._maxPayload !== 'number') return
  if (receiver._maxPayload === 0 || receiver._maxPayload > maxPayload) receiver._maxPayload = maxPayload
}
