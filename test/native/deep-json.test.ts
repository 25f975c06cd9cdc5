import t from 'tap'
import { MAX_JSON_DEPTH } from '../../shared/index.js'
import { echoClient } from '../helpers/server.js'

const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth)

t.test('a frame nested deeper than MAX_JSON_DEPTH: too_deep, answered before parsing, and the connection stays open', async (t) => {
  const { client, errors } = await echoClient(t)
  const tooDeep = { event: 'error', data: { code: 'too_deep', message: `the frame is nested deeper than ${MAX_JSON_DEPTH} levels` } }
  // Used to reach the handler, whose ack could not be serialized.
  client.send(`{"event":"echo","id":1,"data":${nested(6000)}}`)
  t.same(await client.next('error'), tooDeep, 'no id: the frame is refused before its id is read')
  client.send(`{"event":"echo","data":${nested(MAX_JSON_DEPTH)}}`)
  t.same(await client.next('error'), tooDeep, 'one level past the limit')
  // Brackets inside strings are text, not nesting.
  client.send(JSON.stringify({ event: 'echo', id: 100, data: '['.repeat(1000) + '\\"{'.repeat(100) }))
  t.same(await client.request('echo', '['.repeat(1000)), { event: 'ack', id: 1, data: '['.repeat(1000) })
  t.same((await client.next((f) => f.id === 100)).data, '['.repeat(1000) + '\\"{'.repeat(100))
  const atLimit = JSON.parse(nested(MAX_JSON_DEPTH - 1)) as unknown
  t.same(await client.request('echo', atLimit), { event: 'ack', id: 2, data: atLimit }, 'the envelope and its data at the limit are accepted')
  t.same(errors, ['too_deep', 'too_deep'], 'the error hook hears of it')
})
