import type { FastifyInstance, FastifyRequest } from 'fastify'
import type WebSocket from 'ws'
import { Connection } from '../hub/connection.js'
import { logConnection } from '../hub/connection-log.js'
import type { Hub } from '../hub/hub.js'
import { HookTimeoutError } from '../hub/hook-timeout.js'
import type { PusherApp } from './apps.js'
import { appConnectionsRoom } from './channels.js'
import { MAX_PROTOCOL_VERSION, MIN_PROTOCOL_VERSION, PusherCode, PusherMessage } from './codes.js'
import { errorFrame, pusherCodec } from './codec.js'
import type { PusherService } from './service.js'
import { PUSHER_PROTOCOL } from './protocol.js'
import { newSocketId } from './socket-id.js'
import { closeSocket } from '../ws/close.js'
import { limitIncomingPayload } from '../ws/payload-limit.js'
import { onPeerClosing } from '../ws/peer-closing.js'
import { watchRefusedFrames } from '../ws/refused-frames.js'
import { SocketSink, type BackpressureOptions } from '../ws/socket-sink.js'

/** What the pre-upgrade checks decided: an app to serve, or a Pusher error to send on the new socket. */
type Admission = { app: PusherApp } | { code: number; message: string }

/**
 * Decides before the upgrade, while no frame can arrive yet: protocol version, app lookup
 * (possibly async), enabled, connection quota (one cluster query, only for apps with a quota).
 * A refusal still opens the socket: pusher-js only stops retrying on a Pusher close code.
 */
async function admit(
  hub: Hub,
  service: PusherService,
  request: FastifyRequest<{ Params: { key: string }; Querystring: Record<string, string | undefined> }>,
): Promise<Admission> {
  const version = request.query.protocol
  if (version === undefined || version === '') return { code: PusherCode.NoProtocol, message: PusherMessage.noProtocol }
  if (!/^\d+$/.test(version)) return { code: PusherCode.InvalidVersion, message: PusherMessage.invalidVersion }
  const number = Number(version)
  if (number < MIN_PROTOCOL_VERSION || number > MAX_PROTOCOL_VERSION) {
    return {
      code: PusherCode.UnsupportedProtocol,
      message: `Unsupported protocol version ${number}; this server speaks ${MIN_PROTOCOL_VERSION} to ${MAX_PROTOCOL_VERSION}.`,
    }
  }
  const key = request.params.key
  const app = await service.apps.byKey(key)
  if (app === undefined || !app.enabled) {
    // An unknown key never becomes a label: only configured apps' ids do.
    hub.metrics?.events.authFailed(PUSHER_PROTOCOL, app?.id ?? '', 'unknown_app')
    if (app === undefined) return { code: PusherCode.AppUnknown, message: `App key ${key} does not exist.` }
    return { code: PusherCode.AppDisabled, message: PusherMessage.appDisabled }
  }
  if (app.maxConnections >= 0) {
    const count = await hub.query({ type: 'roomSize', room: appConnectionsRoom(app) })
    if (count.value >= app.maxConnections) return { code: PusherCode.OverQuota, message: PusherMessage.overQuota }
  }
  return { app }
}

function refuse(socket: WebSocket, request: FastifyRequest, code: number, message: string): void {
  request.log.info({ protocol: PUSHER_PROTOCOL, code, reason: message }, 'roomcast: pusher connection refused')
  socket.send(errorFrame(code, message))
  closeSocket(socket, code, message)
}

/** Registers the Pusher WebSocket route `[pathPrefix]/app/:key`. */
export function registerPusherRoute(
  app: FastifyInstance,
  hub: Hub,
  backpressure: BackpressureOptions,
  service: PusherService,
  /** The plugin's `maxPayload`: the ws server may allow more, for sealed native frames. */
  maxPayload: number,
): void {
  const admissions = new WeakMap<FastifyRequest, Admission>()
  const traffic = hub.metrics?.traffic(PUSHER_PROTOCOL)
  app.route<{ Params: { key: string }; Querystring: Record<string, string | undefined> }>({
    method: 'GET',
    url: `${service.options.pathPrefix}/app/:key`,
    websocket: true,
    preValidation: async (request) => {
      if (!hub.accepting) return
      try {
        admissions.set(request, await admit(hub, service, request))
      } catch (err) {
        // A lookup that timed out was logged, as a warning, where it timed out; both get 4200 (reconnect).
        if (!(err instanceof HookTimeoutError)) request.log.error({ err }, 'roomcast: pusher app lookup failed')
        admissions.set(request, { code: PusherCode.Reconnect, message: 'The app could not be looked up. Please reconnect shortly.' })
      }
    },
    handler: (socket: WebSocket, request: FastifyRequest) => {
      const admission = admissions.get(request)
      if (!hub.accepting || admission === undefined) {
        refuse(socket, request, PusherCode.Reconnect, PusherMessage.serverClosing)
        return
      }
      if (!('app' in admission)) {
        refuse(socket, request, admission.code, admission.message)
        return
      }
      const connection: Connection = new Connection({
        id: newSocketId(),
        request,
        codec: pusherCodec,
        // pusher-js has no event for a gap, so a Pusher client is only ever closed, with a code
        // after which pusher-js reconnects after a backoff; a gap it survived is only logged.
        sink: new SocketSink(socket, backpressure, {
          overflow: () => {
            logConnection(connection, 'warn', 'roomcast: connection fell too far behind, closing', { dropped: connection.dropped })
            connection.close(PusherCode.OverCapacity, 'backpressure: the socket fell too far behind')
          },
          caughtUp: (count) => logConnection(connection, 'warn', 'roomcast: messages dropped for a slow connection', { dropped: count }),
        }),
        host: hub,
      })
      const session = service.openSession(admission.app, connection)
      hub.register(connection)
      limitIncomingPayload(socket, maxPayload)
      const closeReport = watchRefusedFrames(socket)
      socket.on('message', (data, isBinary) => {
        if (traffic !== undefined) traffic.messagesIn++
        session.receive(data, isBinary)
      })
      socket.on('pong', () => {
        connection.lastSeen = Date.now()
      })
      onPeerClosing(socket, (code, reason) => {
        service.closeSession(session)
        const report = closeReport(code, reason)
        if (report.code !== code)
          logConnection(connection, 'warn', 'roomcast: frame refused by the WebSocket layer', { code: report.code, reason: report.reason })
        hub.remove(connection, report.code, report.reason)
      })
      session.start()
    },
  })
}
