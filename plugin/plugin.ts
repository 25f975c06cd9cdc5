import websocket from '@fastify/websocket'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { AnyEvents, EventsDefinition } from '../shared/events.js'
import { MemoryAdapter } from './adapter/memory.js'
import { Hub } from './hub/hub.js'
import { importIdentitySigningKey } from '../shared/e2e/index.js'
import { resolveOptions, type RoomcastOptions } from './options.js'
import { NATIVE_PROTOCOL } from './native/codec.js'
import { HandlerRegistry } from './native/handlers.js'
import { RoomcastServer } from './server.js'
import { hangUpLateUpgrades } from './ws/late-upgrades.js'
import { SocketSink } from './ws/socket-sink.js'
import { registerNativeRoute } from './native/route.js'
import { registerPusher } from './pusher/index.js'
import { limitUpgradeTime } from './ws/upgrade-timeout.js'

/**
 * Declare your events once to type `app.roomcast` everywhere:
 * `declare module 'roomcast' { interface RoomcastTypes { events: typeof events } }`.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by the application's declaration merging
export interface RoomcastTypes {}

export type RegisteredEvents = RoomcastTypes extends { events: infer E extends EventsDefinition } ? E : AnyEvents

declare module 'fastify' {
  interface FastifyInstance {
    roomcast: RoomcastServer<RegisteredEvents>
  }
}

async function roomcast(app: FastifyInstance, opts: RoomcastOptions<RegisteredEvents>): Promise<void> {
  const options = resolveOptions(opts)
  const adapter = typeof opts.adapter === 'function' ? opts.adapter() : (opts.adapter ?? new MemoryAdapter())
  if (options.history !== undefined && adapter.history === undefined) {
    throw new TypeError('roomcast: the history option needs an adapter with a history store (the in-process and Redis adapters have one)')
  }
  const hub = new Hub<RegisteredEvents>(
    {
      nodeId: options.nodeId,
      heartbeat: options.heartbeat,
      closeGracePeriod: options.closeGracePeriod,
      presenceEvents: options.presenceEvents ? NATIVE_PROTOCOL : undefined,
      history: options.history,
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
  app.decorate('roomcast', new RoomcastServer<RegisteredEvents>(hub, handlers, options.events))
  // Imported before anything starts, so a bad key fails the registration instead of every handshake.
  const identity =
    options.encryptionIdentity === undefined
      ? undefined
      : await importIdentitySigningKey(options.encryptionIdentity).catch((err: unknown) => {
          throw new TypeError(`roomcast: encryptionIdentity is not an ECDSA P-256 private key (${err instanceof Error ? err.message : String(err)})`)
        })
  registerNativeRoute(app, hub, options, handlers, ownsWebsocket, identity)
  if (options.pusher !== undefined) {
    app.roomcast.pusher = await registerPusher(app, hub, options.pusher, {
      rateLimit: options.rateLimit,
      backpressure: options.backpressure,
      maxPayload: options.maxPayload,
      hookTimeout: options.hookTimeout,
      ownsWebsocket,
    })
  }

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
