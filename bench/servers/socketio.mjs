// Socket.IO 4 with its default in-memory adapter and the WebSocket transport only. The token
// travels in the namespace CONNECT packet (`auth`), checked by a middleware; `join` is an event
// with an ack; `publish` goes to the rest of the room with `socket.to(room).emit`.
//
//   node --expose-gc bench/servers/socketio.mjs --port 0
import { createServer } from 'node:http'
import { Server } from 'socket.io'
import { portArgument, serveControl, TOKEN } from './control.mjs'

const httpServer = createServer()
const io = new Server(httpServer, {
  transports: ['websocket'],
  serveClient: false,
  perMessageDeflate: false,
  maxHttpBufferSize: 128 * 1024,
})

io.use((socket, next) => {
  const { token, user } = socket.handshake.auth
  if (token !== TOKEN || typeof user !== 'string') return next(new Error('authentication refused'))
  socket.data.user = user
  next()
})

io.on('connection', (socket) => {
  socket.on('join', (room, ack) => {
    if (typeof room !== 'string') return
    socket.join(room)
    if (typeof ack === 'function') ack({ joined: room })
  })
  socket.on('publish', (room, data) => {
    if (typeof room === 'string') socket.to(room).emit('msg', data)
  })
})

httpServer.listen(portArgument(), '127.0.0.1', () => serveControl(httpServer.address().port))
