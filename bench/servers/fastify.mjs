// The framework floor: the raw `ws` baseline's job (baseline.mjs) behind Fastify and
// @fastify/websocket, with no roomcast. Every upgrade goes through Fastify's routing and request
// lifecycle, as roomcast's do; the difference between this server and roomcast is roomcast's own
// cost, the difference between this server and raw ws is the framework's.
//
//   node --expose-gc bench/servers/fastify.mjs --port 0
import websocket from '@fastify/websocket'
import Fastify from 'fastify'
import { serveBaseline } from './baseline.mjs'
import { portArgument, serveControl } from './control.mjs'

const app = Fastify({ logger: false })
await app.register(websocket, { options: { perMessageDeflate: false, maxPayload: 128 * 1024 } })
app.get('/', { websocket: true }, (socket) => serveBaseline(socket))
await app.listen({ port: portArgument(), host: '127.0.0.1' })
serveControl(app.server.address().port)
