import t from 'tap'
import { connectionEstablishedFrame } from '../../plugin/pusher/codec.js'
import { newSocketId } from '../../plugin/pusher/socket-id.js'

t.test('connection_established is the double-encoded frame pusher-js parses, for any socket id', async (t) => {
  const ids = [newSocketId(), newSocketId(), '1.2', 'not "plain" \\ id', '']
  for (const id of ids) {
    for (const timeout of [120, 30, 0, 1.5]) {
      const frame = JSON.parse(connectionEstablishedFrame(id, timeout)) as { event: string; data: string }
      t.equal(frame.event, 'pusher:connection_established')
      t.same(JSON.parse(frame.data), { socket_id: id, activity_timeout: timeout }, `${JSON.stringify(id)}, ${timeout}`)
    }
  }
})
