import t from 'tap'
import { connect, startServer } from './helpers/server.js'

t.test('a client connects and gets connected', async (t) => {
  const { app, url } = await startServer({})
  t.teardown(() => app.close())
  const { client, connected } = await connect(url)
  t.teardown(() => client.close())
  t.equal(connected.event, 'connected')
  t.type(connected.data.connectionId, 'string')
})
