// The baseline: the least a hand-written `ws` server needs to do the same job. Rooms live in a
// Map, a published message is turned into JSON once and `ws.send` is called per member.
//
//   node --expose-gc bench/servers/ws.mjs --port 0
//
// Wire: {"type":"auth","token","user"} → {"type":"authed"}; {"type":"join","room"} →
// {"type":"joined","room"}; {"type":"publish","room","data"} → {"type":"msg","room","data"}.
import { WebSocketServer } from 'ws'
import { portArgument, serveControl, TOKEN } from './control.mjs'

/** room → members */
const rooms = new Map()

const wss = new WebSocketServer({ host: '127.0.0.1', port: portArgument(), perMessageDeflate: false, maxPayload: 128 * 1024 })

wss.on('connection', (ws) => {
  let user
  const joined = new Set()
  ws.on('message', (raw) => {
    let message
    try {
      message = JSON.parse(raw)
    } catch {
      ws.send('{"type":"error","message":"bad json"}')
      return
    }
    if (user === undefined) {
      if (message.type !== 'auth' || message.token !== TOKEN || typeof message.user !== 'string') {
        ws.close(4003, 'authentication refused')
        return
      }
      user = message.user
      ws.send('{"type":"authed"}')
      return
    }
    if (message.type === 'join' && typeof message.room === 'string') {
      let members = rooms.get(message.room)
      if (members === undefined) rooms.set(message.room, (members = new Set()))
      members.add(ws)
      joined.add(message.room)
      ws.send(JSON.stringify({ type: 'joined', room: message.room }))
    } else if (message.type === 'publish' && typeof message.room === 'string') {
      const members = rooms.get(message.room)
      if (members === undefined) return
      const text = JSON.stringify({ type: 'msg', room: message.room, data: message.data })
      for (const member of members) if (member !== ws) member.send(text)
    }
  })
  ws.on('close', () => {
    for (const room of joined) {
      const members = rooms.get(room)
      members.delete(ws)
      if (members.size === 0) rooms.delete(room)
    }
  })
  ws.on('error', () => {})
})

wss.on('listening', () => serveControl(wss.address().port))
