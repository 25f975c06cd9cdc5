// One load-generator process: holds many sockets, driven by the runner over IPC.
//
//   connect { protocol, port, count, room, user, concurrency, group } → connect { opened, failed, times }
//   counts                                                       → counts { deliveries }
//   close                                                        → close {}
//
// While connected, every delivery is counted; when all of this worker's sockets of a group have
// received message `seq`, the worker reports `done { seq, first, last }` (monotonic µs of its
// first and last receipt), batched once per event-loop turn. A group is the set of sockets one
// message goes to (one server's room, or one room spread over a cluster's nodes).
import { nowMicros, openJoined, protocols } from './protocols.mjs'

const SEQ = Buffer.from('"seq":')
const TIME = Buffer.from('"t":')
// Pusher double-encodes published data: the message is a JSON string inside the frame.
const ESCAPED_SEQ = Buffer.from('\\"seq\\":')
const ESCAPED_TIME = Buffer.from('\\"t\\":')

let sockets = []
/** group → sockets of this worker in it */
const groupSizes = new Map()
let deliveries = 0
/** seq → { count, first, last } for messages not yet received by every socket. */
const pending = new Map()
let doneBatch = []

function readInteger(buffer, from) {
  let value = 0
  for (let i = from; i < buffer.length; i++) {
    const c = buffer[i]
    if (c < 48 || c > 57) break
    value = value * 10 + (c - 48)
  }
  return value
}

function flushDone() {
  const batch = doneBatch
  doneBatch = []
  process.send({ type: 'done', batch })
}

function onDelivery(data) {
  let at = data.indexOf(SEQ)
  let escaped = false
  if (at < 0) {
    at = data.indexOf(ESCAPED_SEQ)
    escaped = true
  }
  if (at < 0) {
    this.benchProtocol.keepAlive(this, data)
    return
  }
  const now = nowMicros()
  deliveries++
  const seq = readInteger(data, at + (escaped ? ESCAPED_SEQ.length : SEQ.length))
  let entry = pending.get(seq)
  if (entry === undefined) {
    const time = escaped ? ESCAPED_TIME : TIME
    entry = { count: 0, first: now, last: now, sent: readInteger(data, data.indexOf(time, at) + time.length) }
    pending.set(seq, entry)
  }
  entry.last = now
  if (++entry.count === groupSizes.get(this.benchGroup)) {
    pending.delete(seq)
    if (doneBatch.length === 0) setImmediate(flushDone)
    doneBatch.push([seq, entry.sent, entry.first, entry.last])
  }
}

async function connect({ protocol: name, port, count, room, user, concurrency, group }) {
  const protocol = protocols[name]
  const times = new Float64Array(count)
  let opened = 0
  let failed = 0
  let firstError
  let next = 0
  const startedAt = nowMicros()
  const lane = async () => {
    while (next < count) {
      const index = next++
      const begin = nowMicros()
      try {
        const socket = await openJoined(protocol, port, `${user}-${index}`, room)
        times[index] = (nowMicros() - begin) / 1000
        socket.benchGroup = group
        socket.benchProtocol = protocol
        groupSizes.set(group, (groupSizes.get(group) ?? 0) + 1)
        socket.on('message', onDelivery)
        sockets.push(socket)
        opened++
      } catch (err) {
        times[index] = NaN
        failed++
        firstError ??= String(err?.message ?? err)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane))
  return { opened, failed, firstError, startedAt, endedAt: nowMicros(), times: Array.from(times).filter(Number.isFinite) }
}

async function closeAll() {
  const closing = sockets.map(
    (socket) =>
      new Promise((resolve) => {
        if (socket.readyState === socket.CLOSED) return resolve()
        socket.once('close', resolve)
        socket.terminate()
      }),
  )
  sockets = []
  groupSizes.clear()
  pending.clear()
  await Promise.all(closing)
}

process.on('message', async (message) => {
  try {
    switch (message.type) {
      case 'connect':
        process.send({ type: 'connect', id: message.id, ...(await connect(message)) })
        break
      case 'counts':
        process.send({ type: 'counts', id: message.id, deliveries, pending: pending.size })
        break
      case 'close':
        await closeAll()
        process.send({ type: 'close', id: message.id })
        break
      case 'stop':
        process.exit(0)
    }
  } catch (err) {
    process.send({ type: 'error', id: message.id, message: String(err?.stack ?? err) })
  }
})
process.on('disconnect', () => process.exit(0))
process.send({ type: 'ready' })
