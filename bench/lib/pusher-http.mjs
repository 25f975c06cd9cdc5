// A publisher for the Pusher HTTP API: the request the `pusher` SDK makes (`POST
// /apps/:id/events`, data as a JSON string, signed with the app's key and secret, over kept-alive
// connections), written as raw HTTP/1.1 on plain TCP sockets. Like the load generator's raw `ws`
// sockets, it keeps the client's own cost low (no http.Agent, no ClientRequest per publish), so
// that a slow publisher does not thin out the server's batches: the server does the same work as
// for the SDK's requests, byte for byte the same kind of request.
import { createHash, createHmac } from 'node:crypto'
import { connect } from 'node:net'
import { PUSHER_APP } from '../load/protocols.mjs'

const PATH = `/apps/${PUSHER_APP.id}/events`
const HEADER_END = '\r\n\r\n'

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

/**
 * One kept-alive connection carrying one request at a time (no pipelining, as HTTP clients do).
 * `onIdle` is called when its answer has arrived; a status other than 200 is reported once.
 */
class Connection {
  constructor(port, onIdle, onFailure) {
    this.busy = false
    this.buffer = ''
    this.socket = connect({ host: '127.0.0.1', port, noDelay: true })
    this.socket.setEncoding('latin1')
    this.socket.on('data', (chunk) => {
      this.buffer += chunk
      // Answers are small and whole: headers, then a body of Content-Length bytes.
      const end = this.buffer.indexOf(HEADER_END)
      if (end < 0) return
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(this.buffer.slice(0, end))?.[1] ?? 0)
      if (this.buffer.length < end + HEADER_END.length + length) return
      const status = this.buffer.slice(9, 12)
      if (status !== '200') onFailure(`HTTP ${status}: ${this.buffer.slice(end + HEADER_END.length)}`)
      this.buffer = this.buffer.slice(end + HEADER_END.length + length)
      this.busy = false
      onIdle(this)
    })
    this.socket.on('error', (err) => onFailure(err.message))
  }

  send(port, body) {
    this.busy = true
    const length = Buffer.byteLength(body)
    this.socket.write(
      `POST ${PATH}?${signedQuery('POST', PATH, body)} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\nconnection: keep-alive\r\n\r\n${body}`,
    )
  }
}

/** `send(channel, message)` publishes event `msg`; a request that fails stops the run loudly. */
export function openHttpPublisher(port) {
  const idle = []
  const all = []
  let failure
  const onIdle = (connection) => idle.push(connection)
  const onFailure = (message) => {
    if (failure !== undefined) return
    failure = message
    console.error(`pusher publish failed: ${message}`)
  }
  return {
    send(channel, message) {
      if (failure !== undefined) return
      let connection = idle.pop()
      if (connection === undefined) {
        connection = new Connection(port, onIdle, onFailure)
        all.push(connection)
      }
      connection.send(port, JSON.stringify({ name: 'msg', channels: [channel], data: JSON.stringify(message) }))
    },
    close() {
      for (const connection of all) connection.socket.destroy()
    },
  }
}
