import t from 'tap'
import { RawClient, connect, delay, startServer, until } from '../helpers/server.js'

/** Answers every server heartbeat, as the client SDK does. */
function answerHeartbeats(client: RawClient): void {
  client.ws.on('message', (raw) => {
    if (JSON.parse(raw.toString()).event === 'heartbeat') client.send({ event: 'heartbeat' })
  })
}

const heartbeat = { interval: 40, timeout: 200 }

t.test('event mode: a client that answers stays, a silent one is closed 4002 and leaves every room', async (t) => {
  const disconnects: Array<{ id: string; code: number; reason: string }> = []
  const leaves: string[] = []
  const { app, url } = await startServer({ heartbeat })
  app.roomcast.addHook('disconnect', (connection, info) => {
    disconnects.push({ id: connection.id, ...info })
  })
  app.roomcast.addHook('leave', (connection, room) => {
    leaves.push(`${connection.id}:${room}`)
  })
  t.teardown(() => app.close())

  const alive = await connect(url)
  const silent = await connect(url)
  t.teardown(() => alive.client.close())
  t.teardown(() => silent.client.close())
  answerHeartbeats(alive.client)
  t.same(alive.connected.data.heartbeat, heartbeat, 'connected tells the client the heartbeat settings')
  const aliveId = alive.connected.data.connectionId as string
  const silentId = silent.connected.data.connectionId as string

  t.same((await alive.client.request('join', { rooms: ['shared'] })).data, { joined: ['shared'], refused: [] })
  t.same((await silent.client.request('join', { rooms: ['shared', 'lonely'] })).data, { joined: ['shared', 'lonely'], refused: [] })
  t.equal(await app.roomcast.rooms.size('shared'), 2)

  t.same(await silent.client.whenClosed(), { code: 4002, reason: 'heartbeat timeout' })
  t.ok(silent.client.all('heartbeat').length >= 1, 'the silent client was sent heartbeats')
  t.same(silent.client.all('heartbeat')[0], { event: 'heartbeat' })

  t.equal(app.roomcast.connections.get(silentId), undefined)
  t.equal(await app.roomcast.rooms.size('shared'), 1)
  t.same(await app.roomcast.rooms.members('shared'), [{ connectionId: aliveId, userId: undefined }])
  t.same(await app.roomcast.rooms.list(), ['shared'], 'the room only the silent client was in is gone')
  t.same(disconnects, [{ id: silentId, code: 4002, reason: 'heartbeat timeout' }])
  t.same(leaves.sort(), [`${silentId}:lonely`, `${silentId}:shared`])

  // Several more timeouts pass; the answering client is still there.
  await delay(heartbeat.timeout * 2)
  t.equal(alive.client.closed, undefined)
  t.ok(app.roomcast.connections.get(aliveId))
  t.ok(alive.client.all('heartbeat').length >= 3)
})

t.test('any frame counts as a sign of life', async (t) => {
  const { app, url } = await startServer({ heartbeat })
  app.roomcast.on('tick', () => undefined)
  t.teardown(() => app.close())
  const { client } = await connect(url)
  t.teardown(() => client.close())
  const timer = setInterval(() => client.send({ event: 'tick' }), 20)
  t.teardown(() => clearInterval(timer))
  await delay(heartbeat.timeout * 3)
  t.equal(client.closed, undefined)
})

t.test('ping mode: a peer that does not pong is closed 4002; one that pongs stays; no heartbeat events', async (t) => {
  const { app, url } = await startServer({ heartbeat: { ...heartbeat, mode: 'ping' } })
  t.teardown(() => app.close())
  const ponging = await RawClient.open(url)
  const deaf = await RawClient.open(url, { autoPong: false })
  t.teardown(() => ponging.close())
  t.teardown(() => deaf.close())
  let pings = 0
  deaf.ws.on('ping', () => pings++)
  const deafId = (await deaf.next('connected')).data.connectionId as string
  await ponging.next('connected')
  t.same(await deaf.request('join', { rooms: ['r'] }), { event: 'ack', id: 1, data: { joined: ['r'], refused: [] } })

  t.same(await deaf.whenClosed(), { code: 4002, reason: 'heartbeat timeout' })
  t.ok(pings >= 1, 'the server sent WebSocket pings')
  t.same(deaf.all('heartbeat'), [])
  t.same(ponging.all('heartbeat'), [])
  t.equal(app.roomcast.connections.get(deafId), undefined)
  t.equal(await app.roomcast.rooms.size('r'), 0)
  t.same(await app.roomcast.rooms.list(), [])
  await delay(heartbeat.timeout)
  t.equal(ponging.closed, undefined)
  t.equal(app.roomcast.connections.count(), 1)
})

t.test('one sweep timer serves every connection, and one timer every pending authentication', async (t) => {
  // Distinctive delays, so the timers roomcast makes can be told apart from everyone else's.
  const authTimeout = 54_321
  const heartbeatOptions = { interval: 61_000, timeout: 122_000 }
  const created: number[] = []
  const realSetTimeout = globalThis.setTimeout
  const realSetInterval = globalThis.setInterval
  const record = <F extends (...args: never[]) => unknown>(real: F): F =>
    ((...args: Parameters<F>) => {
      created.push(Number(args[1]))
      return real(...args)
    }) as unknown as F
  globalThis.setTimeout = record(realSetTimeout)
  globalThis.setInterval = record(realSetInterval)
  t.teardown(() => {
    globalThis.setTimeout = realSetTimeout
    globalThis.setInterval = realSetInterval
  })
  const { app, url } = await startServer({ heartbeat: heartbeatOptions, authTimeout, authenticate: () => ({ userId: 'u' }) })
  t.teardown(() => app.close())
  // 40 sockets that have not authenticated yet: each has an authentication deadline pending.
  const pending = await Promise.all(Array.from({ length: 40 }, () => RawClient.open(url)))
  t.teardown(() => pending.forEach((client) => client.close()))
  await until(() => app.roomcast.connections.count() === 40)
  const ours = (delay: number): boolean => delay === heartbeatOptions.interval || Math.abs(delay - authTimeout) <= 1
  t.equal(created.filter((delay) => delay === heartbeatOptions.interval).length, 1, 'one sweep timer')
  t.equal(created.filter((delay) => Math.abs(delay - authTimeout) <= 1).length, 1, 'one timer for all pending authentications')
  t.equal(created.filter(ours).length, 2)
})

t.test('the sweep stops when the app closes', async (t) => {
  const timers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length
  await delay(10)
  const before = timers()
  const { app } = await startServer({ heartbeat })
  t.equal(timers(), before + 1, 'one interval while running')
  await app.close()
  await until(() => timers() === before, 1000, 'timers back to the baseline')
  t.pass()
})
