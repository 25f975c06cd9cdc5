// The three wire protocols, spoken directly over raw `ws` sockets so that every server costs its
// clients the same: authenticate, join one room, publish, answer keep-alives.
import { createHmac } from 'node:crypto'
import WebSocket from 'ws'

const TOKEN = 'bench-token'

/** The Pusher app every bench server with `--pusher` serves (see bench/servers/roomcast.mjs). */
export const PUSHER_APP = { id: 'bench', key: 'bench-key', secret: 'bench-secret' }

/** What a Pusher app's auth endpoint would return: `key:` + hex HMAC-SHA256 of the signed text. */
export function pusherSignature(text) {
  return `${PUSHER_APP.key}:${createHmac('sha256', PUSHER_APP.secret).update(text).digest('hex')}`
}

/** The room a case's clients join, as each server names it: roomcast's Pusher endpoint subscribes to a private channel (signed by the generator). */
export function pusherChannel(kind, room) {
  return kind === 'pusher' ? `private-${room}` : room
}

/** Client socket options shared by every protocol: no compression, no UTF-8 check of received text. */
const SOCKET_OPTIONS = { perMessageDeflate: false, skipUTF8Validation: true, maxPayload: 16 * 1024 * 1024 }

/** Monotonic microseconds, comparable between processes on one machine (CLOCK_MONOTONIC). */
export function nowMicros() {
  return Number(process.hrtime.bigint() / 1000n)
}

/**
 * The message every server fans out. `seq` and `t` (send time, monotonic µs) come first so that
 * receivers read them from the frame bytes without parsing JSON.
 */
export function benchMessage(seq, text) {
  return { seq, t: nowMicros(), text }
}

const roomcast = {
  name: 'roomcast',
  url: (port) => `ws://127.0.0.1:${port}/ws`,
  /** Steps of the handshake: each gets a received text and returns the next frame to send, true when joined, or false to wait. */
  start: (user) => JSON.stringify({ event: 'authenticate', data: { token: TOKEN, user }, id: 1 }),
  step(state, text, room) {
    const frame = JSON.parse(text)
    if (state.phase === 0 && frame.id === 1) {
      if (frame.event !== 'connected') throw new Error(`authenticate answered ${text}`)
      state.phase = 1
      return JSON.stringify({ event: 'join', data: { rooms: [room] }, id: 2 })
    }
    if (state.phase === 1 && frame.id === 2) {
      if (frame.event !== 'ack' || !frame.data.joined.includes(room)) throw new Error(`join answered ${text}`)
      return true
    }
    return false
  },
  publish: (room, message) => JSON.stringify({ event: 'publish', data: { room, msg: message } }),
  /** Keep-alive: the server's `heartbeat` event is answered with one. */
  keepAlive(ws, data) {
    if (data.length < 40 && data.includes('"heartbeat"')) ws.send('{"event":"heartbeat"}')
  },
}

const ws = {
  name: 'ws',
  url: (port) => `ws://127.0.0.1:${port}/`,
  start: (user) => JSON.stringify({ type: 'auth', token: TOKEN, user }),
  step(state, text, room) {
    const frame = JSON.parse(text)
    if (state.phase === 0 && frame.type === 'authed') {
      state.phase = 1
      return JSON.stringify({ type: 'join', room })
    }
    if (state.phase === 1 && frame.type === 'joined' && frame.room === room) return true
    if (frame.type === 'error') throw new Error(text)
    return false
  },
  publish: (room, message) => JSON.stringify({ type: 'publish', room, data: message }),
  keepAlive() {},
}

/** Engine.IO v4 packets over WebSocket: `0` open, `2`/`3` ping/pong, `4` message + Socket.IO packet. */
const socketio = {
  name: 'socketio',
  url: (port) => `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`,
  start: () => undefined,
  step(state, text, room, user) {
    if (text === '2') return '3'
    if (state.phase === 0 && text.startsWith('0{')) {
      state.phase = 1
      return '40' + JSON.stringify({ token: TOKEN, user })
    }
    if (state.phase === 1 && text.startsWith('40')) {
      state.phase = 2
      return '420' + JSON.stringify(['join', room])
    }
    if (state.phase === 1 && text.startsWith('44')) throw new Error(`connect refused: ${text}`)
    if (state.phase === 2 && text.startsWith('430')) return true
    return false
  },
  publish: (room, message) => '42' + JSON.stringify(['publish', room, message]),
  keepAlive(socket, data) {
    if (data.length === 1 && data[0] === 0x32) socket.send('3')
  },
}

/**
 * The Pusher Channels protocol as pusher-js speaks it: wait for `connection_established`, then
 * subscribe with the signature an auth endpoint would give (private and presence channels; a
 * presence member is the socket's user). `publish` is a client event on the channel (the
 * HTTP API publisher is in bench/lib/harness.mjs).
 */
const pusher = {
  name: 'pusher',
  url: (port) => `ws://127.0.0.1:${port}/app/${PUSHER_APP.key}?protocol=7&client=js&version=8.4.0&flash=false`,
  start: () => undefined,
  step(state, text, channel, user) {
    const frame = JSON.parse(text)
    if (state.phase === 0 && frame.event === 'pusher:connection_established') {
      state.phase = 1
      const socketId = JSON.parse(frame.data).socket_id
      const data = { channel }
      if (channel.startsWith('presence-')) {
        data.channel_data = JSON.stringify({ user_id: user, user_info: { name: user } })
        data.auth = pusherSignature(`${socketId}:${channel}:${data.channel_data}`)
      } else if (channel.startsWith('private-')) {
        data.auth = pusherSignature(`${socketId}:${channel}`)
      }
      return JSON.stringify({ event: 'pusher:subscribe', data })
    }
    if (state.phase === 1 && frame.event === 'pusher_internal:subscription_succeeded' && frame.channel === channel) return true
    if (frame.event === 'pusher:error' || frame.event === 'pusher:subscription_error') throw new Error(text)
    return false
  },
  publish: (channel, message) => JSON.stringify({ event: 'client-msg', channel, data: message }),
  /** The server's `pusher:ping` (sent after a quiet spell) is answered with a pong. */
  keepAlive(ws, data) {
    if (data.length < 60 && data.includes('"pusher:ping"')) ws.send('{"event":"pusher:pong","data":{}}')
  },
}

/** The Fastify floor serves the raw ws baseline's job, so it speaks the same wire. */
export const protocols = { roomcast, pusher, ws, socketio, fastify: { ...ws, name: 'fastify' } }

/**
 * Opens a socket, authenticates and joins `room`. Resolves with the socket once joined; the
 * caller then installs its own message listener (the handshake's is removed).
 */
export function openJoined(protocol, port, user, room, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(protocol.url(port), SOCKET_OPTIONS)
    const state = { phase: 0 }
    const timer = setTimeout(() => fail(new Error('handshake timed out')), timeoutMs)
    const fail = (err) => {
      clearTimeout(timer)
      socket.removeAllListeners('message')
      socket.terminate()
      reject(err)
    }
    socket.on('error', (err) => fail(err))
    socket.on('close', (code) => fail(new Error(`closed with ${code} during the handshake`)))
    socket.on('open', () => {
      const first = protocol.start(user)
      if (first !== undefined) socket.send(first)
    })
    socket.on('message', (data) => {
      let next
      try {
        next = protocol.step(state, data.toString(), room, user)
      } catch (err) {
        fail(err)
        return
      }
      if (next === true) {
        clearTimeout(timer)
        socket.removeAllListeners('message')
        socket.removeAllListeners('close')
        socket.removeAllListeners('error')
        socket.on('error', () => {})
        resolve(socket)
      } else if (typeof next === 'string') {
        socket.send(next)
      }
    })
  })
}
