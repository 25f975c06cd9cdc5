// The job of the two hand-written baselines (raw ws, and the same over Fastify's upgrade path):
// rooms in a Map, a published message turned into JSON once and `ws.send` called per member.
//
// Wire: {"type":"auth","token","user"} → {"type":"authed"}; {"type":"join","room"} →
// {"type":"joined","room"}; {"type":"publish","room","data"} → {"type":"msg","room","data"}.
import { TOKEN } from './control.mjs'

/** room → members */
const rooms = new Map()

/** Serves one accepted `ws` socket. */
export function serveBaseline(ws) {
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
}
