// The roomcast bench server: the built package (dist/) as an application would use it.
// A client authenticates in-band with the bench token, joins one room, and a `publish` event
// fans its message out to every other member of the room.
//
//   node --expose-gc bench/servers/roomcast.mjs --port 0 [--redis-port P] [--history SIZE] [--metrics on] [--timers slow] [--pusher]
//
// --history SIZE: every room keeps its last SIZE publications (for a minute), so each
// publication is stored and carries its position (the fan-out-with-history case).
// --metrics on: `metrics: true`, Prometheus metrics on GET /metrics (the metrics case).
// --timers slow: heartbeats and Pusher's activity pings an hour apart, for runs under valgrind
// (bench/run.mjs --instructions), whose stretched time would otherwise let them fall into the
// measured window, as they never do in real time.
// --pusher: also speak the Pusher protocol (`/app/:key` and the HTTP API) for one app, with
// its limits off as the native side has its rate limit off (the Pusher cases).
import Fastify from 'fastify'
import * as roomcastPackage from 'roomcast'
import { PUSHER_APP } from '../load/protocols.mjs'
import { argument, portArgument, serveControl, TOKEN } from './control.mjs'

const { default: roomcast, defineEvents, Type } = roomcastPackage

const message = Type.Object({ seq: Type.Integer(), t: Type.Number(), text: Type.String() })
const events = defineEvents({
  toServer: { publish: Type.Object({ room: Type.String(), msg: message }) },
  toClient: { msg: message },
})

/** The Redis adapter, when the package exports it and the runner asked for it (the cluster case). */
async function adapterOption() {
  const redisPort = argument('redis-port')
  if (redisPort === undefined) return undefined
  if (typeof roomcastPackage.redisAdapter !== 'function') throw new Error('this build of roomcast exports no redisAdapter')
  const { default: Redis } = await import('ioredis')
  const redis = new Redis({ host: '127.0.0.1', port: Number(redisPort), lazyConnect: false })
  return roomcastPackage.redisAdapter({ redis })
}

/** The `history` option when the runner asked for it: every room keeps the last SIZE publications. */
function historyOption() {
  const size = argument('history')
  return size === undefined ? undefined : [{ match: '*', size: Number(size), ttl: 60_000 }]
}

const slowTimers = argument('timers') === 'slow'

/** The `pusher` option when the runner asked for it: one app, client events on, no limits in the way of the load. */
function pusherOption() {
  if (!process.argv.includes('--pusher')) return undefined
  return {
    apps: [
      {
        ...PUSHER_APP,
        enableClientMessages: true,
        maxClientEventsPerSecond: -1,
        maxPresenceMembers: -1,
        maxPresenceMemberSizeKb: -1,
      },
    ],
    ...(slowTimers ? { activityTimeout: 3600 } : {}),
    webhooks: false,
  }
}

const app = Fastify({ logger: false })
const pusher = pusherOption()
const history = historyOption()
const adapter = await adapterOption()
await app.register(roomcast, {
  events,
  authenticate: (data) => {
    if (typeof data !== 'object' || data === null || data.token !== TOKEN || typeof data.user !== 'string') return null
    return { userId: data.user }
  },
  // The publisher sends as fast as the server takes messages; the other servers have no limit either.
  rateLimit: false,
  ...(adapter === undefined ? {} : { adapter }),
  ...(history === undefined ? {} : { history }),
  ...(argument('metrics') === 'on' ? { metrics: true } : {}),
  ...(slowTimers ? { heartbeat: { interval: 3_600_000, timeout: 7_200_000 } } : {}),
  ...(pusher === undefined ? {} : { pusher }),
})
app.roomcast.on('publish', (connection, data) => {
  app.roomcast.rooms.to(data.room).except(connection.id).emit('msg', data.msg)
})

await app.listen({ port: portArgument(), host: '127.0.0.1' })
serveControl(app.server.address().port)
