import t from 'tap'
import WebSocket, { WebSocketServer, type RawData } from 'ws'
import { MAX_JSON_DEPTH } from '../../shared/index.js'
import { nextEvent, testClient } from '../helpers/client.js'

t.test('a server frame nested thousands of levels deep: the client reports too_deep and keeps working', async (t) => {
  // A raw server: roomcast itself never sends such a frame.
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  await new Promise((resolve) => wss.once('listening', resolve))
  const sockets: WebSocket[] = []
  wss.on('connection', (socket) => {
    sockets.push(socket)
    socket.on('message', (raw: RawData) => {
      const envelope = JSON.parse(raw.toString()) as { event: string; id?: number }
      if (envelope.event !== 'authenticate') return
      socket.send(
        JSON.stringify({ event: 'connected', id: envelope.id, data: { connectionId: 'c1', rooms: [], heartbeat: { interval: 60_000, timeout: 120_000 } } }),
      )
      socket.send(`{"event":"said","data":${'['.repeat(6000)}${']'.repeat(6000)}}`)
      socket.send(JSON.stringify({ event: 'said', data: { from: 'server', text: 'still here' } }))
    })
  })
  t.teardown(() => {
    for (const socket of sockets) socket.terminate()
    return new Promise<void>((resolve) => wss.close(() => resolve()))
  })
  const client = testClient(`ws://127.0.0.1:${(wss.address() as { port: number }).port}/ws`)
  t.teardown(() => client.close())
  const error = nextEvent(client, 'error')
  const said = new Promise((resolve) => client.on('said', resolve))
  await client.ready()
  const refused = await error
  t.equal(refused.code, 'too_deep')
  t.equal(refused.message, `the server sent a frame nested deeper than ${MAX_JSON_DEPTH} levels`)
  t.same(await said, { from: 'server', text: 'still here' }, 'the next frame is delivered')
  t.equal(client.state, 'connected')
})
