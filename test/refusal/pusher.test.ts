import t from 'tap'
import { APP, connected, pusherJs, startPusherServer, whenState } from '../helpers/pusher.js'

const DISABLED = { id: 'off-id', key: 'off-key', secret: 'off-secret', enabled: false }

// pusher-js gives up for good on close codes 4000-4099 ("refused"); the Pusher endpoint refuses
// on the opened socket with such codes, so a refused pusher-js client ends instead of looping.
for (const refused of [
  { name: 'an unknown app key', app: { ...APP, key: 'no-such-key' }, apps: [APP], code: 4001 },
  { name: 'a disabled app', app: DISABLED, apps: [APP, DISABLED], code: 4003 },
]) {
  t.test(`pusher-js refused for ${refused.name} (${refused.code}) ends disconnected and never tries again`, async (t) => {
    const server = await startPusherServer({ apps: refused.apps })
    t.teardown(() => server.app.close())
    let upgrades = 0
    server.app.server.on('upgrade', (request: { url?: string }) => {
      if (request.url?.startsWith('/app/') === true) upgrades++
    })

    const client = pusherJs(server, {}, refused.app)
    t.teardown(() => client.disconnect())
    const states: string[] = []
    const errors: unknown[] = []
    client.connection.bind('state_change', ({ current }: { current: string }) => states.push(current))
    client.connection.bind('error', (error: unknown) => errors.push(error))
    await whenState(client, 'disconnected')
    t.match(errors, [{ type: 'WebSocketError', error: { type: 'PusherError', data: { code: refused.code } } }])

    // Another client's whole connection happens after the refused one ended: no attempt in between.
    const good = pusherJs(server)
    t.teardown(() => good.disconnect())
    await connected(good)
    t.equal(upgrades, 2, 'one upgrade each: the refused client made no second attempt')
    t.same(states, ['disconnected'], 'no state after the refusal but disconnected')
    t.equal(client.connection.state, 'disconnected')
  })
}
