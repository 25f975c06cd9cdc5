import type { FastifyInstance, FastifyRequest } from 'fastify'
import type WebSocket from 'ws'
import { Connection } from '../hub/connection.js'
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
import { attachPeer, type SocketPeer } from '../ws/socket-peer.js'
import { SocketSink, type BackpressureOptions } from '../ws/socket-sink.js'
import { releaseUpgradeLeftovers } from '../ws/upgrade-leftovers.js'

/** What the pre-upgrade checks decided: an app to serve, or a Pusher error to send on the new socket. */
type Admission = { app: PusherApp } | { code: number; message: string }

type UpgradeRequest = FastifyRequest<{ Params: { key: string }; Querystring: Record<string, string | undefined> }>

/** The protocol version check: a refusal, or undefined when the client's version is served. */
function checkVersion(request: UpgradeRequest): Admission | undefined {
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
  return undefined
}

/** What an app found (or not) for a key allows, short of the connection quota. */
function checkApp(key: string, app: PusherApp | undefined): Admission {
  if (app === undefined) return { code: PusherCode.AppUnknown, message: `App key ${key} does not exist.` }
  if (!app.enabled) return { code: PusherCode.AppDisabled, message: PusherMessage.appDisabled }
  return { app }
}

/**
 * Decides before the upgrade when nothing needs waiting for: a bad version, or a configured app
 * (not a lookup) without a connection quota. Undefined when `admit` must decide.
 */
function admitAtOnce(service: PusherService, request: UpgradeRequest): Admission | undefined {
  const refusal = checkVersion(request)
  if (refusal !== undefined) return refusal
  if (service.apps.dynamic) return undefined
  const key = request.params.key
  const admission = checkApp(key, service.apps.configured(key))
  return 'app' in admission && admission.app.maxConnections >= 0 ? undefined : admission
}

/**
 * Decides before the upgrade, while no frame can arrive yet: protocol version, app lookup
 * (possibly async), enabled, connection quota (one cluster query, only for apps with a quota).
 * A refusal still opens the socket: pusher-js only stops retrying on a Pusher close code.
 */
async function admit(hub: Hub, service: PusherService, request: UpgradeRequest): Promise<Admission> {
  const refusal = checkVersion(request)
  if (refusal !== undefined) return refusal
  const key = request.params.key
  const admission = checkApp(key, await service.apps.byKey(key))
  if (!('app' in admission)) return admission
  const app = admission.app
  if (app.maxConnections >= 0) {
    const count = await hub.query({ type: 'roomSize', room: appConnectionsRoom(app) })
    if (count.value >= app.maxConnections) return { code: PusherCode.OverQuota, message: PusherMessage.overQuota }
  }
  return admission
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
  /** True when roomcast registered @fastify/websocket itself (its default socket error handler is in use). */
  ownsWebsocket: boolean,
): void {
  const admissions = new WeakMap<FastifyRequest, Admission>()
  app.route<{ Params: { key: string }; Querystring: Record<string, string | undefined> }>({
    method: 'GET',
    url: `${service.options.pathPrefix}/app/:key`,
    websocket: true,
    // Callback-style, so that an upgrade with nothing to wait for (a configured app) costs no promise.
    preValidation: (request, _reply, done) => {
      if (!hub.accepting) {
        done()
        return
      }
      const immediate = admitAtOnce(service, request)
      if (immediate !== undefined) {
        admissions.set(request, immediate)
        done()
        return
      }
      admit(hub, service, request)
        .then(
          (admission) => admissions.set(request, admission),
          (err: unknown) => {
            // A lookup that timed out was logged, as a warning, where it timed out; both get 4200 (reconnect).
            if (!(err instanceof HookTimeoutError)) request.log.error({ err }, 'roomcast: pusher app lookup failed')
            admissions.set(request, { code: PusherCode.Reconnect, message: 'The app could not be looked up. Please reconnect shortly.' })
          },
        )
        .then(() => done())
    },
    handler: (socket: WebSocket, request: FastifyRequest) => {
      const admission = admissions.get(request)
      if (!hub.accepting || admission === undefined) {
        refuse(socket, request, PusherCode.Reconnect, PusherMessage.serverClosing)
        return
      }
      if (!('app' in admission)) {
        // An unknown key never becomes a label: only configured apps' ids do, and a refusal carries none.
        if (admission.code === PusherCode.AppUnknown || admission.code === PusherCode.AppDisabled) {
          hub.metrics?.events.authFailed(PUSHER_PROTOCOL, '', 'unknown_app')
        }
        refuse(socket, request, admission.code, admission.message)
        return
      }
      const sink = new SocketSink<SocketPeer>(socket, backpressure)
      const connection = new Connection({ id: newSocketId(), request, codec: pusherCodec, sink, host: hub })
      const session = service.openSession(admission.app, connection)
      hub.register(connection)
      limitIncomingPayload(socket, maxPayload)
      releaseUpgradeLeftovers(socket, request)
      attachPeer(socket, sink, session, ownsWebsocket)
      session.start()
    },
  })
}
