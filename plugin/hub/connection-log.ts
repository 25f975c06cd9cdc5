import type { FastifyBaseLogger } from 'fastify'
import type { Connection } from './connection.js'

/** The levels connection life-cycle lines use: `debug` for routine steps, `info` for refusals, `warn` for abuse. */
export type ConnectionLogLevel = 'debug' | 'info' | 'warn'

/**
 * Logs one step of a connection's life on its upgrade request's logger, so every line carries
 * the request's `reqId`, plus the connection's `connectionId` and `protocol`. No child logger is
 * kept per connection (idle connections must stay small): the connection keeps a pointer to the
 * request's logger, and the bindings are added only when a line is written. Nothing is built when the level is off.
 */
export function logConnection(connection: Connection, level: ConnectionLogLevel, message: string, fields?: Record<string, unknown>): void {
  const log = connection.log
  if (!isLevelEnabled(log, level)) return
  log[level](
    fields === undefined
      ? { connectionId: connection.id, protocol: connection.protocol }
      : { connectionId: connection.id, protocol: connection.protocol, ...fields },
    message,
  )
}

/** pino's `isLevelEnabled`; a logger without it (an application's own) decides for itself. */
function isLevelEnabled(log: FastifyBaseLogger, level: ConnectionLogLevel): boolean {
  const check = (log as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled
  return typeof check !== 'function' || check.call(log, level)
}
