import type { Test } from 'tap'
import type { RedisClient } from '../../plugin/index.js'
import { startNode, type TestNode } from './redis.js'
import { connect, until, type Frame, type RawClient } from './server.js'

export interface Member {
  client: RawClient
  id: string
  user: string
  node: TestNode
}

/** Starts one node per id on the same key prefix, closing them at teardown. */
export async function startNodes(
  t: Test,
  ids: string[],
  options: { redis: () => RedisClient; keyPrefix: string; heartbeatInterval?: number; requestTimeout?: number; presenceEvents?: boolean },
): Promise<TestNode[]> {
  const nodes: TestNode[] = []
  for (const nodeId of ids) {
    const node = await startNode({
      redis: options.redis(),
      keyPrefix: options.keyPrefix,
      nodeId,
      heartbeatInterval: options.heartbeatInterval,
      requestTimeout: options.requestTimeout,
      roomcast: options.presenceEvents === true ? { presenceEvents: true } : undefined,
    })
    nodes.push(node)
    t.teardown(() => node.app.close())
  }
  // Every node knows every other one before the test starts.
  await until(() => nodes.every((node) => node.adapter.stats.liveNodes >= nodes.length - 1), 5_000, 'every node sees the others')
  return nodes
}

/** Connects a user's socket to a node and joins rooms; waits until Redis confirmed the node's new subscriptions. */
export async function member(t: Test, node: TestNode, user: string, rooms: string[] = []): Promise<Member> {
  const { client, connected } = await connect(node.url, { user })
  t.teardown(() => client.close())
  if (rooms.length > 0) {
    const reply = await client.request('join', { rooms })
    t.same(reply.data, { joined: rooms, refused: [] }, `${user} on ${node.nodeId} joined ${rooms.join(', ')}`)
  }
  await node.adapter.settled()
  return { client, id: connected.data.connectionId as string, user, node }
}

/** The frames a client received, without markers and system events. */
export function appFrames(client: RawClient, ...events: string[]): Frame[] {
  return client.frames.filter((frame) => events.includes(frame.event))
}

/**
 * Waits until everything published so far on the given channels has arrived: every node sends
 * a marker on each channel (a room, a user, a connection, everyone) and every client waits for
 * the markers it must get. Messages from one publisher on one channel keep their order, also
 * across Redis Cluster shards, so after the markers nothing earlier is still on its way.
 */
export async function flush(nodes: TestNode[], members: Member[], channels: { rooms?: string[]; users?: string[]; connections?: string[] }): Promise<void> {
  const round = Math.random()
  for (const node of nodes) {
    for (const room of channels.rooms ?? []) node.app.roomcast.rooms.to(room).emit('mark', round)
    for (const user of channels.users ?? []) node.app.roomcast.users.to(user).emit('mark', round)
    for (const id of channels.connections ?? []) node.app.roomcast.connections.send(id, 'mark', round)
    node.app.roomcast.broadcast('mark', round)
  }
  await Promise.all(
    members.map(async (m) => {
      const rooms = (channels.rooms ?? []).filter((room) => m.node.app.roomcast.connections.get(m.id)?.rooms.has(room)).length
      const users = (channels.users ?? []).filter((user) => user === m.user).length
      const ids = (channels.connections ?? []).filter((id) => id === m.id).length
      const expected = nodes.length * (rooms + users + ids + 1)
      await until(
        () => m.client.frames.filter((f) => f.event === 'mark' && f.data === round).length >= expected,
        5_000,
        `markers reach ${m.user}@${m.node.nodeId}`,
      )
    }),
  )
}

/**
 * Every kind of delivery across three nodes, checked frame by frame: rooms (one and several),
 * except, users with sockets on several nodes, one connection, everyone.
 */
export async function deliveryScenario(t: Test, nodes: TestNode[]): Promise<Member[]> {
  const [a, b, c] = nodes as [TestNode, TestNode, TestNode]
  const annA = await member(t, a, 'ann', ['lobby'])
  const benB = await member(t, b, 'ben', ['lobby', 'side'])
  const annC = await member(t, c, 'ann', ['side'])
  const danC = await member(t, c, 'dan')
  const everyone = [annA, benB, annC, danC]

  a.app.roomcast.rooms.to('lobby').emit('chat', { n: 1 })
  c.app.roomcast.rooms.to('lobby').except(benB.id).emit('chat', { n: 2 })
  b.app.roomcast.rooms.to(['lobby', 'side']).emit('chat', { n: 3 })
  b.app.roomcast.users.to('ann').emit('dm', { n: 4 })
  c.app.roomcast.connections.send(benB.id, 'dm', { n: 5 })
  a.app.roomcast.broadcast('news', { n: 6 })
  a.app.roomcast.users.to(['ann', 'ben']).except(annC.id).emit('dm', { n: 7 })
  c.app.roomcast.connections.send(annC.id, 'dm', { n: 8 })
  a.app.roomcast.rooms.to(['side', 'lobby']).emit('chat', { n: 9 })

  await flush(nodes, everyone, { rooms: ['lobby', 'side'], users: ['ann', 'ben'], connections: [benB.id, annC.id] })

  // Frames from different publishers may interleave; each publisher's own order is kept.
  const sortByN = (frames: Frame[]): Frame[] => [...frames].sort((x, y) => x.data.n - y.data.n)
  t.same(
    sortByN(appFrames(annA.client, 'chat')),
    [
      { event: 'chat', data: { n: 1 }, room: 'lobby' },
      { event: 'chat', data: { n: 2 }, room: 'lobby' },
      { event: 'chat', data: { n: 3 }, room: 'lobby' },
      { event: 'chat', data: { n: 9 }, room: 'lobby' },
    ],
    'ann@a: room deliveries from every node, once each',
  )
  t.same(
    sortByN(appFrames(benB.client, 'chat')),
    [
      { event: 'chat', data: { n: 1 }, room: 'lobby' },
      { event: 'chat', data: { n: 3 }, room: 'lobby' },
      { event: 'chat', data: { n: 9 }, room: 'side' },
    ],
    'ben@b: left out by except; in both rooms of multi-room deliveries yet served once, tagged with the first room',
  )
  t.same(
    sortByN(appFrames(annC.client, 'chat')),
    [
      { event: 'chat', data: { n: 3 }, room: 'side' },
      { event: 'chat', data: { n: 9 }, room: 'side' },
    ],
    'ann@c: the multi-room deliveries via the other room',
  )
  t.same(appFrames(danC.client, 'chat'), [], 'dan is in no room')

  t.same(
    sortByN(appFrames(annA.client, 'dm')),
    [
      { event: 'dm', data: { n: 4 } },
      { event: 'dm', data: { n: 7 } },
    ],
    'ann@a: user deliveries',
  )
  t.same(
    sortByN(appFrames(annC.client, 'dm')),
    [
      { event: 'dm', data: { n: 4 } },
      { event: 'dm', data: { n: 8 } },
    ],
    'ann@c: user delivery on another node, except honoured, own connection',
  )
  t.same(
    sortByN(appFrames(benB.client, 'dm')),
    [
      { event: 'dm', data: { n: 5 } },
      { event: 'dm', data: { n: 7 } },
    ],
    'ben@b: a connection on another node, a multi-user delivery',
  )
  t.same(appFrames(danC.client, 'dm'), [])
  for (const m of everyone) t.same(appFrames(m.client, 'news'), [{ event: 'news', data: { n: 6 } }], `${m.user}@${m.node.nodeId}: broadcast once`)

  // Nothing was dropped as malformed; every node ignored its own echoes and the extra copies.
  for (const node of nodes) t.equal(node.adapter.stats.malformed, 0)
  t.ok(
    nodes.some((node) => node.adapter.stats.duplicates > 0),
    'a copy of a multi-channel delivery was dropped as a duplicate',
  )
  t.ok(
    nodes.every((node) => node.adapter.stats.ownEchoes > 0),
    'every node dropped its own messages coming back',
  )
  return everyone
}
