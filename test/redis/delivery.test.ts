import t from 'tap'
import { startRedis, uniquePrefix } from '../helpers/redis.js'
import { deliveryScenario, startNodes } from '../helpers/cluster.js'

t.test('every kind of delivery across three nodes on one Redis', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const nodes = await startNodes(t, ['a', 'b', 'c'], { redis: () => redis.client(), keyPrefix: uniquePrefix('delivery') })
  await deliveryScenario(t, nodes)
})

t.test('the same over RESP2 connections (clients configured with protocol: 2)', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const nodes = await startNodes(t, ['a', 'b', 'c'], { redis: () => redis.client({ protocol: 2 }), keyPrefix: uniquePrefix('resp2') })
  await deliveryScenario(t, nodes)
})
