import t from 'tap'
import { RoomBook } from '../../client/rooms.js'
import { RoomcastError } from '../../shared/errors.js'

t.test('restore plan: rejoin what the server did not hand out, leave what was declined', async (t) => {
  const book = new RoomBook()
  t.same(book.restore(['lobby']), { rejoin: [], leave: [], refill: [] }, 'first connection: the server rooms are taken')
  book.entered(['a', 'b'])
  t.same(book.list, ['lobby', 'a', 'b'])
  t.same(book.leave(['lobby', 'never']), ['lobby'], 'leave answers with the rooms it was in')
  t.same(book.restore(['lobby']), { rejoin: [['a', 'b']], leave: ['lobby'], refill: [] }, 'a declined server room is left again')
  t.same(book.list, ['a', 'b'])
  t.same(book.restore(['other']), { rejoin: [['a', 'b']], leave: [], refill: [] })
  t.same(book.restore(['lobby', 'other']), { rejoin: [['a', 'b']], leave: [], refill: [] }, 'declines last only while the server keeps handing the room out')
  t.same(book.list, ['a', 'b', 'other', 'lobby'])
  book.entered(['lobby'])
  book.removed(['other'])
  t.same(book.list, ['a', 'b', 'lobby'], 'a room taken away by the server is not rejoined')
})

t.test('restore plan: joins in requests of at most 100 rooms; rooms left meanwhile are stale', async (t) => {
  const book = new RoomBook()
  book.entered(Array.from({ length: 250 }, (_, i) => `r${i}`))
  const plan = book.restore([])
  t.same(
    plan.rejoin.map((chunk) => chunk.length),
    [100, 100, 50],
  )
  book.leave(['r7', 'r249'])
  t.same(book.stale(plan), ['r7', 'r249'])
})

t.test('carrying out a plan: refused rooms are forgotten and reported; a dead link rejects', async (t) => {
  const book = new RoomBook()
  book.entered(['a', 'b', 'c'])
  const reported: RoomcastError[] = []
  const sent: Array<[string, unknown]> = []
  await book.carryOut(
    book.restore(['d']),
    async (event, data) => {
      sent.push([event, data])
      return { joined: ['a', 'c'], refused: ['b'] }
    },
    (error) => reported.push(error),
  )
  t.same(sent, [['join', { rooms: ['a', 'b', 'c'] }]])
  t.same(book.list, ['a', 'c', 'd'])
  t.match(reported, [{ code: 'join_refused', message: 'not allowed back into b' }])
  const dead = book.carryOut(
    book.restore([]),
    () => Promise.reject(new RoomcastError('disconnected', 'gone')),
    () => t.fail('nothing to report'),
  )
  await t.rejects(dead, { code: 'disconnected' })
  t.same(book.list, ['a', 'c', 'd'], 'no conclusion from a dead link')
})

t.test('stream positions: duplicates dropped, a new epoch noticed, rejoins recover, acks settle', async (t) => {
  const book = new RoomBook()
  book.entered(['chat', 'lobby'])
  t.equal(book.admit('chat', { epoch: 'e1', offset: 4 }), 'new')
  t.equal(book.admit('chat', { epoch: 'e1', offset: 4 }), 'duplicate', 'the same offset again')
  t.equal(book.admit('chat', { epoch: 'e1', offset: 3 }), 'duplicate', 'an older one')
  t.equal(book.admit('chat', { epoch: 'e1', offset: 6 }), 'new', 'a gap is not a duplicate')
  t.equal(book.admit('chat', { epoch: 'e2', offset: 1 }), 'new-epoch')
  t.same(book.position('chat'), { epoch: 'e2', offset: 1 })
  book.settle('chat', { epoch: 'e2', offset: 0 })
  t.same(book.position('chat'), { epoch: 'e2', offset: 1 }, 'an ack never moves the position back')
  book.admit('lobby', { epoch: 'l1', offset: 9 })

  const plan = book.restore(['lobby'])
  t.same(plan.refill, [{ room: 'lobby', since: { epoch: 'l1', offset: 9 } }], "the server's own room is refilled from history")
  const sent: unknown[] = []
  const outcomes: unknown[] = []
  await book.carryOut(
    plan,
    async (_event, data) => {
      sent.push(data)
      return { joined: ['chat'], refused: [], streams: { chat: { epoch: 'e3', offset: 12, recovered: false, reason: 'epoch_changed', replayed: 0 } } }
    },
    () => t.fail('nothing to report'),
    (outcome) => outcomes.push(outcome),
  )
  t.same(sent, [{ rooms: ['chat'], recover: { chat: { epoch: 'e2', offset: 1 } } }], 'the rejoin asks to recover from the last position')
  t.same(outcomes, [{ room: 'chat', recovered: false, reason: 'epoch_changed', replayed: 0 }])
  t.same(book.position('chat'), { epoch: 'e3', offset: 12 }, 'a failed recovery continues from the server position')
  book.leave(['chat'])
  t.equal(book.position('chat'), undefined, 'a room left forgets its stream')
})
