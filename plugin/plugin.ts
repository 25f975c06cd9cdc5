import websocket from '@fastify/websocket'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { RegisteredEvents, RegisteredUserId } from './types.js'
import { MemoryAdapter } from './adapter/memory.js'
import type { Adapter } from './hub/adapter.js'
import { Hub } from './hub/hub.js'
import { importIdentitySigningKey } from '../shared/e2e/index.js'
import { AlreadyRegisteredError, HistoryUnsupportedError } from './hub/errors.js'
import { checkOptions, invalidOption } from './hub/option-check.js'
import { resolveOptions, type RoomcastOptions } from './options.js'
import { AdapterSchema } from './options-schema.js'
import { NATIVE_PROTOCOL } from './native/codec.js'
import { HandlerRegistry } from './native/handlers.js'
import { RoomcastServer } from './server.js'
import { hangUpLateUpgrades } from './ws/late-upgrades.js'
import { SocketSink } from './ws/socket-sink.js'
import { registerNativeRoute } from './native/route.js'
import { registerPusher } from './pusher/index.js'
import { limitUpgradeTime } from './ws/upgrade-timeout.js'
import { createMetrics, startMetrics } from './metrics/index.js'
import { registerHealthRoutes } from './api/health-routes.js'

declare module 'fastify' {
  interface FastifyInstance {
    roomcast: RoomcastServer<RegisteredEvents, RegisteredUserId>
  }
}

/**
 * Servers roomcast is registered on. One registration owns the server's WebSocket upgrades, its
 * upgrade time-outs and its shutdown: a second one (in the same context or another) would
 * fight over them, so it is refused whatever its context.
 */
const registeredServers = new WeakSet<object>()

async function roomcast(app: FastifyInstance, opts: RoomcastOptions): Promise<void> {
  if (registeredServers.has(app.server)) throw new AlreadyRegisteredError()
  // The runtime serves any identity, with or without a user. A declared user id type
  // (`RoomcastTypes.userId`) is held to by the options' types: their hooks must produce one.
  const options = resolveOptions(opts as RoomcastOptions<RegisteredEvents, string | undefined>)
  registeredServers.add(app.server)
  // Before the adapter is made: without prom-client the registration fails with nothing to undo.
  const metrics = options.metrics === undefined ? undefined : await createMetrics(options.metrics)
  const adapter =
    typeof opts.adapter === 'function' ? checkOptions<Adapter>(AdapterSchema, opts.adapter(), '', ['adapter()']) : (opts.adapter ?? new MemoryAdapter())
  if (options.history !== undefined && adapter.history === undefined) throw new HistoryUnsupportedError()
  const hub = new Hub<RegisteredEvents>(
    {
      nodeId: options.nodeId,
      heartbeat: options.heartbeat,
      closeGracePeriod: options.closeGracePeriod,
      presenceEvents: options.presenceEvents ? NATIVE_PROTOCOL : undefined,
      history: options.history,
      metrics: metrics?.hubMetrics,
    },
    adapter,
    app.log,
  )

  const ownsWebsocket = !app.hasDecorator('websocketServer')
  if (!ownsWebsocket) {
    // The application registered @fastify/websocket itself; our hook closes what is left with 1001.
    app.addHook('preClose', () => {
      hangUpLateUpgrades(app.server)
      return hub.shutdown()
    })
    // Its default preClose runs before ours and closes every socket the ws server tracks without
    // a code (clients would see 1005 and could not tell a shutdown). Our sockets are closed by the
    // hub with 1001 instead, so they leave that set as they arrive; the app's own sockets stay.
    const tracked = app.websocketServer.clients as Set<unknown> | undefined
    hub.hooks.add('connection', (connection) => {
      if (connection.sink instanceof SocketSink) tracked?.delete(connection.sink.ws)
    })
  } else {
    await app.register(websocket, {
      // Each route lowers this on its own sockets: encrypted native frames may be larger than the message they carry.
      // No client tracking: the hub keeps every connection already, and closes them itself on
      // shutdown; ws's own set would cost each idle connection an entry and a close listener.
      options: { maxPayload: options.maxFrame, perMessageDeflate: options.compression, clientTracking: false },
      // Replaces the default, which closes sockets without a code: clients must see 1001.
      preClose(this: FastifyInstance, done) {
        hangUpLateUpgrades(this.server)
        hub.shutdown().then(
          () => this.websocketServer.close(() => done()),
          (err: unknown) => done(err as Error),
        )
      },
    })
  }

  const handlers = new HandlerRegistry<RegisteredEvents>()
  app.decorate('roomcast', new RoomcastServer<RegisteredEvents, RegisteredUserId>(hub, handlers, options.events))
  // Imported before anything starts, so a bad key fails the registration instead of every handshake.
  const identity =
    options.encryptionIdentity === undefined
      ? undefined
      : await importIdentitySigningKey(options.encryptionIdentity).catch((err: unknown) => {
          invalidOption(`encryptionIdentity is not an ECDSA P-256 private key (${err instanceof Error ? err.message : String(err)})`)
        })
  registerNativeRoute(app, hub, options, handlers, ownsWebsocket, identity)
  if (options.pusher !== undefined) {
    app.roomcast.attachPusher(
      await registerPusher(app, hub, options.pusher, {
        rateLimit: options.rateLimit,
        backpressure: options.backpressure,
        maxPayload: options.maxPayload,
        hookTimeout: options.hookTimeout,
        ownsWebsocket,
      }),
    )
  }

  if (metrics !== undefined) startMetrics(app, metrics, { hub, webhooks: app.roomcast.pusherEnabled ? app.roomcast.pusher.webhooks : undefined })
  if (options.health !== undefined) registerHealthRoutes(app, hub, options.health)

  const stopUpgradeTimeout = limitUpgradeTime(app.server, app.websocketServer, options.upgradeTimeout)
  app.addHook('onClose', (_instance, done) => {
    stopUpgradeTimeout()
    done()
  })
  // Last, so that a configuration error above leaves no sweep timer or adapter connection behind.
  await hub.start()
  app.addHook('onClose', () => hub.stopAdapter())
}

export default fp(roomcast, { name: 'roomcast', fastify: '5.x' })
