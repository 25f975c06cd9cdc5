// A publisher for the Pusher HTTP API, as the `pusher` SDK calls it (`POST /apps/:id/events`,
// data as a JSON string, signed with the app's key and secret), on kept-alive connections. It
// signs with node:crypto itself, so the runner spends as little as the WebSocket publisher does.
import { createHash, createHmac } from 'node:crypto'
import { Agent, request } from 'node:http'
import { PUSHER_APP } from '../load/protocols.mjs'

const PATH = `/apps/${PUSHER_APP.id}/events`

/** The signed query string of one request (Pusher's auth_* parameters and body_md5). */
export function signedQuery(method, path, body) {
  const params = [
    ['auth_key', PUSHER_APP.key],
    ['auth_timestamp', String(Math.floor(Date.now() / 1000))],
    ['auth_version', '1.0'],
    ['body_md5', createHash('md5').update(body).digest('hex')],
  ]
  const query = params.map(([key, value]) => `${key}=${value}`).join('&')
  const signature = createHmac('sha256', PUSHER_APP.secret).update(`${method}\n${path}\n${query}`).digest('hex')
  return `${query}&auth_signature=${signature}`
}

/** `send(channel, message)` publishes event `msg`; a request that fails stops the run loudly. */
export function openHttpPublisher(port) {
  const agent = new Agent({ keepAlive: true })
  let failure
  return {
    send(channel, message) {
      if (failure !== undefined) return
      const body = JSON.stringify({ name: 'msg', channels: [channel], data: JSON.stringify(message) })
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: `${PATH}?${signedQuery('POST', PATH, body)}`,
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          if (res.statusCode === 200) {
            res.resume()
            return
          }
          let text = ''
          res.on('data', (chunk) => {
            text += chunk
          })
          res.on('end', () => {
            failure ??= `HTTP ${res.statusCode}: ${text}`
            console.error(`pusher publish failed: ${failure}`)
          })
        },
      )
      req.on('error', (err) => {
        failure ??= err.message
        console.error(`pusher publish failed: ${failure}`)
      })
      req.end(body)
    },
    close: () => agent.destroy(),
  }
}
