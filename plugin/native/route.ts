import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type WebSocket from 'ws'
import { authRefusalReason } from '../../shared/auth-refusal.js'
import { CloseCode } from '../../shared/codes.js'
import type { EventsDefinition } from '../../shared/events.js'
import { Connection, type Identity } from '../hub/connection.js'
import type { Hub } from '../hub/hub.js'
import type { NativeOptions, Refusal } from './options.js'
import { NATIVE_PROTOCOL, nativeCodec } from './codec.js'
import type { HandlerRegistry } from './handlers.js'
import { NativeSession } from './session.js'
import { EncryptionQueue } from './encryption-queue.js'
import { DeadlineQueue } from '../hub/deadlines.js'
import { HookTimeoutError, withHookTimeout } from '../hub/hook-timeout.js'
import { closeSocket } from '../ws/close.js'
import { limitIncomingPayload } from '../ws/payload-limit.js'
import { attachPeer, type SocketPeer } from '../ws/socket-peer.js'
import { SocketSink } from '../ws/socket-sink.js'
import { releaseUpgradeLeftovers } from '../ws/upgrade-leftovers.js'

function isRefusal(value: unknown): value is Refusal {
  return typeof value === 'object' && value !== null && (value as Refusal).refuse === true
}

/** What the pre-upgrade checks decided for a request, keyed by it: an identity, or the close reason of a refusal. */
interface Admissions {
  identities: WeakMap<FastifyRequest, Identity>
  /** Upgrades refused under `refuseUpgradeWith: 'close'`: the socket is closed with 4003 and this reason. */
  refusals: WeakMap<FastifyRequest, string>
}

/**
 * Refuses an upgrade in the `preValidation` hook, before any socket exists: 503 while the node
 * drains or shuts down, the `authenticateRequest` verdict otherwise. Callback-style, so that an
 * upgrade with nothing to wait for costs no promise.
 */
function admitUpgrade<E extends EventsDefinition>(
  hub: Hub<E>,
  options: NativeOptions<E>,
  admissions: Admissions,
  request: FastifyRequest,
  reply: FastifyReply,
  done: (err?: Error) => void,
): void {
  if (!hub.accepting) {
    void reply.code(503).send({ error: 'Service Unavailable', code: 'unavailable', message: 'the server is not accepting connections' })
    return
  }
  const authenticateRequest = options.authenticateRequest
  if (authenticateRequest === undefined) {
    done()
    return
  }
  Promise.resolve()
    .then(() => withHookTimeout(authenticateRequest(request), 'authenticateRequest', options.hookTimeout, request.log))
    .then((verdict) => {
      if (verdict === null || isRefusal(verdict)) {
        hub.metrics?.events.authFailed(NATIVE_PROTOCOL, '', 'refused')
        const statusCode = isRefusal(verdict) ? (verdict.statusCode ?? 401) : 401
        const message = (isRefusal(verdict) ? verdict.message : undefined) ?? 'authentication refused'
        request.log.info({ protocol: NATIVE_PROTOCOL, statusCode, mode: options.refuseUpgradeWith }, 'roomcast: upgrade refused by authenticateRequest')
        if (options.refuseUpgradeWith === 'close' && request.ws === true && (statusCode === 401 || statusCode === 403)) {
          // Browsers see only 1006 for a refused upgrade and would retry forever: they get a 4003 close instead.
          // A plain HTTP request to the route (no upgrade) still gets the status.
          admissions.refusals.set(request, authRefusalReason(statusCode, message))
          done()
          return
        }
        void reply.code(statusCode).send({ error: statusCode === 403 ? 'Forbidden' : 'Unauthorized', code: 'auth_refused', message })
        return
      }
      // undefined: no verdict before the upgrade; the in-band `authenticate` decides.
      if (verdict !== undefined) admissions.identities.set(request, verdict)
      done()
    })
    .catch((err: unknown) => {
      hub.metrics?.events.authFailed(NATIVE_PROTOCOL, '', 'error')
      // Not the client's fault and maybe gone soon: 503, so that it (or a load balancer) tries again.
      if (err instanceof HookTimeoutError) void reply.code(503).send({ error: 'Service Unavailable', code: err.code, message: err.message })
      else done(err instanceof Error ? err : new Error(String(err)))
    })
}

/**
 * Closes the socket of a refused upgrade at once, sending nothing else. A peer that never answers
 * the close is cut after `closeGracePeriod` (ws alone would wait 30 s), so refused peers cannot
 * hold sockets open; one shared queue, no timer per socket.
 */
function closeRefused(socket: WebSocket, reason: string, cutAfterGrace: DeadlineQueue<WebSocket>): void {
  closeSocket(socket, CloseCode.AuthRefused, reason)
  cutAfterGrace.add(socket)
}

/** Registers the native protocol's WebSocket route. */
export function registerNativeRoute<E extends EventsDefinition>(
  app: FastifyInstance,
  hub: Hub<E>,
  options: NativeOptions<E>,
  handlers: HandlerRegistry<E>,
  /** True when roomcast registered @fastify/websocket itself (its default socket error handler is in use). */
  ownsWebsocket = false,
  /** The server identity's signing key (`encryptionIdentity`), imported. */
  identity?: CryptoKey,
): void {
  const admissions: Admissions = { identities: new WeakMap(), refusals: new WeakMap() }
  const refusedSockets = new DeadlineQueue<WebSocket>(options.closeGracePeriod, (socket) => {
    if (socket.readyState !== socket.CLOSED) socket.terminate()
  })
  const encryptionSetup = options.encryption === 'off' ? undefined : { queue: new EncryptionQueue(options.encryptionBatchSize), identity }
  const authDeadlines = new DeadlineQueue<NativeSession<E>>(options.authTimeout, (session) => session.authDeadlinePassed())
  app.addHook('onClose', (_instance, done) => {
    authDeadlines.clear()
    done()
  })
  app.route({
    method: 'GET',
    url: options.path,
    websocket: true,
    preValidation: (request, reply, done) => admitUpgrade(hub, options, admissions, request, reply, done),
    handler: (socket: WebSocket, request: FastifyRequest) => {
      if (!hub.accepting) {
        socket.close(CloseCode.ServerShutdown, 'server shutting down')
        return
      }
      const refusal = admissions.refusals.get(request)
      if (refusal !== undefined) {
        closeRefused(socket, refusal, refusedSockets)
        return
      }
      const sink = new SocketSink<SocketPeer>(socket, options.backpressure)
      const connection: Connection<E> = new Connection<E>({ id: randomUUID(), request, codec: nativeCodec, sink, host: hub, events: options.events })
      const session = new NativeSession(hub, options, handlers, connection, request, authDeadlines, encryptionSetup)
      hub.register(connection)
      limitIncomingPayload(socket, options.maxFrame)
      releaseUpgradeLeftovers(socket, request)
      attachPeer(socket, sink, session, ownsWebsocket)
      session.start(admissions.identities.get(request))
    },
  })
}
