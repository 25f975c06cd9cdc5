import t from 'tap'
import { MemoryAdapter, RedisAdapter } from '../../plugin/index.js'
import { startRedis, uniquePrefix } from '../helpers/redis.js'
import { adapterContract } from './contract.js'

adapterContract(t, 'in-process adapter', { make: () => new MemoryAdapter(), clustered: false })

t.test('Redis adapter', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  let keyPrefix = uniquePrefix('contract')
  // A fresh key prefix per test, shared by the adapters one test makes (its cluster).
  t.beforeEach(() => {
    keyPrefix = uniquePrefix('contract')
  })
  adapterContract(t, 'Redis adapter', {
    make: () => new RedisAdapter({ redis: redis.client(), keyPrefix, heartbeatInterval: 200, requestTimeout: 1000 }),
    clustered: true,
  })
})
