import t from 'tap'
import { DEFAULT_MAX_ENTRIES, MemoryStore } from '../../plugin/adapter/memory-store.js'

// Keys of the in-process store can be chosen by peers (a Pusher cache channel per publish), so
// its size is bounded by entries, not only by each value's TTL.
t.test('the in-process store keeps at most maxEntries values, forgetting the least recently used', async (t) => {
  const store = new MemoryStore(3)
  const hour = 3_600_000
  await store.set('a', '1', hour)
  await store.set('b', '2', hour)
  await store.set('c', '3', hour)
  t.equal(await store.get('a'), '1', 'reading a makes it the most recently used')
  await store.set('d', '4', hour)
  t.equal(await store.get('b'), undefined, 'b, least recently used, was forgotten')
  t.same([await store.get('a'), await store.get('c'), await store.get('d')], ['1', '3', '4'])
})

t.test('by default the bound is DEFAULT_MAX_ENTRIES, whatever the TTL', async (t) => {
  const store = new MemoryStore()
  for (let i = 0; i < DEFAULT_MAX_ENTRIES + 50; i++) await store.set(`k${i}`, 'v', 3_600_000)
  t.equal(await store.get('k0'), undefined)
  t.equal(await store.get(`k${DEFAULT_MAX_ENTRIES + 49}`), 'v')
})

t.test('maxEntries is validated', async (t) => {
  for (const bad of [0, -1, 2.5, Number.NaN]) t.throws(() => new MemoryStore(bad), { message: /maxEntries/ }, String(bad))
  t.doesNotThrow(() => new MemoryStore(Infinity))
})
