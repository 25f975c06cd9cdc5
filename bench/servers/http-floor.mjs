// The floor of one HTTP publish on this stack: a bare Fastify server whose only route takes the
// Pusher API's `POST /apps/:appId/events`, parses the same JSON body with Fastify's own parser and
// answers `{}`. No signature, no validation, no fan-out: what Node's HTTP parser and Fastify's
// request lifecycle cost per request, and so how low roomcast's Pusher HTTP API could go.
//
//   node bench/servers/http-floor.mjs --port 0
import Fastify from 'fastify'
import { portArgument, serveControl } from './control.mjs'

const app = Fastify({ logger: false })
app.post('/apps/:appId/events', async (request) => {
  // The parsed body is touched, as any handler would, so nothing about it is optimized away.
  if (typeof request.body !== 'object' || request.body === null) throw new Error('expected a JSON body')
  return {}
})
await app.listen({ port: portArgument(), host: '127.0.0.1' })
serveControl(app.server.address().port)
