import { createHmac } from 'node:crypto'
import t from 'tap'
import { MAX_JSON_DEPTH } from '../../shared/index.js'
import { signedFetch } from '../helpers/pusher-http.js'
import { APP, rawPusher, startPusherServer } from '../helpers/pusher.js'

/** JSON text of arrays nested `depth` levels deep: 2 bytes a level, so a few KB hold thousands. */
const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth)
const sign = (text: string): string => APP.key + ':' + createHmac('sha256', APP.secret).update(text).digest('hex')

t.test('a client event nested 6,000 levels deep: pusher:error 4301, and the server and the connection live on', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const { client } = await rawPusher(server.url())
  t.teardown(() => client.close())
  // No subscription and no signature: the frame alone used to throw out of the socket listener.
  client.send(`{"event":"client-x","channel":"private-a","data":${nested(6000)}}`)
  t.same(await client.next('pusher:error'), {
    event: 'pusher:error',
    data: { code: 4301, message: `The message is nested deeper than ${MAX_JSON_DEPTH} levels.` },
  })
  client.send({ event: 'pusher:ping', data: {} })
  await client.next('pusher:pong')
  // At the limit (the frame itself is level 1): an ordinary refusal for the missing subscription.
  client.send(`{"event":"client-x","channel":"private-a","data":${nested(MAX_JSON_DEPTH - 1)}}`)
  t.same((await client.next('pusher:error')).data, { code: 4301, message: 'The connection is not subscribed to the channel.' })
  t.equal(client.closed, undefined, 'the connection stays open')
})

t.test('signed but deep: presence channel_data is a subscription error, user_data a 4009 close', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const { client, socketId } = await rawPusher(server.url())
  t.teardown(() => client.close())
  const channelData = `{"user_id":"u1","user_info":${nested(100)}}`
  client.send({
    event: 'pusher:subscribe',
    data: { channel: 'presence-deep', channel_data: channelData, auth: sign(`${socketId}:presence-deep:${channelData}`) },
  })
  t.same(await client.next('pusher:subscription_error'), {
    event: 'pusher:subscription_error',
    channel: 'presence-deep',
    data: { type: 'LimitReached', error: `channel_data is nested deeper than ${MAX_JSON_DEPTH} levels.`, status: 4301 },
  })

  const userData = `{"id":"u1","user_info":${nested(100)}}`
  client.send({ event: 'pusher:signin', data: { user_data: userData, auth: sign(`${socketId}::user::${userData}`) } })
  t.same(await client.whenClosed(), { code: 4009, reason: `The user_data is nested deeper than ${MAX_JSON_DEPTH} levels.` })
})

t.test('HTTP API: a signed body nested too deep is a 400 { error, code }, not a 500', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const path = `/apps/${APP.id}/events`
  const deep = await signedFetch(server.port, 'POST', path, `{"name":"e","channel":"a","data":${nested(6000)}}`)
  t.same(deep, { status: 400, body: { error: `The request body is nested deeper than ${MAX_JSON_DEPTH} levels.`, code: 400 }, headers: deep.headers })
  const batch = await signedFetch(server.port, 'POST', `/apps/${APP.id}/batch_events`, `{"batch":[{"name":"e","channel":"a","data":${nested(100)}}]}`)
  t.equal(batch.status, 400)
  const fine = await signedFetch(server.port, 'POST', path, `{"name":"e","channel":"a","data":${nested(MAX_JSON_DEPTH - 1)}}`)
  t.same(fine.body, { ok: true }, 'a body at the limit is accepted')
})
