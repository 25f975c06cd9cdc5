import t from 'tap'
import type { PusherAppConfig } from '../../plugin/index.js'
import { RawClient } from '../helpers/server.js'
import { startPusherServer } from '../helpers/pusher.js'

const never = <T>(): Promise<T> => new Promise<T>(() => {})

t.test('an app lookup that never settles: pusher:error and close 4200 on the socket, 503 on the HTTP API', async (t) => {
  const server = await startPusherServer({ hookTimeout: 50, pusher: { apps: { byKey: () => never<PusherAppConfig>(), byId: () => never<PusherAppConfig>() } } })
  t.teardown(() => server.app.close())
  const client = await RawClient.open(server.url())
  t.teardown(() => client.close())
  const closed = await client.whenClosed()
  t.equal(closed.code, 4200, 'pusher-js reconnects')
  t.same(client.all('pusher:error'), [{ event: 'pusher:error', data: { code: 4200, message: 'The app could not be looked up. Please reconnect shortly.' } }])

  const response = await fetch(`http://127.0.0.1:${server.port}/apps/app-id/channels`)
  t.equal(response.status, 503)
  t.same(await response.json(), { error: 'The app lookup did not answer in time.', code: 503 })
})
