// Case 1c: recovery throughput. N clients of one node are in a room with history; they all drop,
// MISSED publications go to the room meanwhile, and they all reconnect at once, each joining with
// `recover: { room: { epoch, offset } }`: the server reads the room's stream and replays what each
// one missed before its join's ack. Measured: replayed publications per second over the whole
// reconnect (connect, authenticate, join, replay), and per server CPU-second.
import WebSocket from 'ws'
import { Server } from '../lib/harness.mjs'
import { nowMicros } from '../load/protocols.mjs'
import { TOKEN } from '../servers/control.mjs'

const ROOM = 'recovery'
/** Publications each client missed. */
const MISSED = 50
/** Publications the room keeps: enough for all of them. */
const SIZE = 100
/** Reconnects in flight at once. */
const CONCURRENCY = 200

const SOCKET_OPTIONS = { perMessageDeflate: false, skipUTF8Validation: true, maxPayload: 16 * 1024 * 1024 }

/**
 * Connects, authenticates and joins the room (with `recover` when given); resolves once the join
 * is acked, with the room's stream state from the ack and the `msg` deliveries received before it.
 */
function session(port, user, recover) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, SOCKET_OPTIONS)
    let messages = 0
    const timer = setTimeout(() => fail(new Error('the session timed out')), 60_000)
    const fail = (err) => {
      clearTimeout(timer)
      socket.terminate()
      reject(err)
    }
    socket.on('error', fail)
    socket.on('open', () => socket.send(JSON.stringify({ event: 'authenticate', data: { token: TOKEN, user }, id: 1 })))
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString())
      if (frame.event === 'msg') messages++
      else if (frame.event === 'heartbeat') socket.send('{"event":"heartbeat"}')
      else if (frame.id === 1) {
        if (frame.event !== 'connected') return fail(new Error(`authenticate answered ${data}`))
        const join = recover === undefined ? { rooms: [ROOM] } : { rooms: [ROOM], recover: { [ROOM]: recover } }
        socket.send(JSON.stringify({ event: 'join', data: join, id: 2 }))
      } else if (frame.id === 2) {
        clearTimeout(timer)
        if (frame.event !== 'ack' || frame.data.streams?.[ROOM] === undefined) return fail(new Error(`join answered ${data}`))
        resolve({ socket, stream: frame.data.streams[ROOM], messages })
      }
    })
  })
}

/** Runs `task(i)` for i in 0..count-1, `concurrency` at a time. */
async function inLanes(count, concurrency, task) {
  const results = new Array(count)
  let next = 0
  const lane = async () => {
    while (next < count) {
      const index = next++
      results[index] = await task(index)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane))
  return results
}

function terminateAll(sessions) {
  return Promise.all(
    sessions.map(
      ({ socket }) =>
        new Promise((resolve) => {
          if (socket.readyState === socket.CLOSED) return resolve()
          socket.once('close', resolve)
          socket.terminate()
        }),
    ),
  )
}

export default {
  name: 'recovery',
  title: 'Recovery after a reconnect',
  servers: ['roomcast'],
  async available() {
    const roomcast = await import('roomcast')
    return typeof roomcast.redisAdapter === 'function' ? { ok: true } : { ok: false, reason: 'the built package has no room history' }
  },
  method: (ctx) =>
    `N clients of one node (the in-process store) are in a room that keeps its last ${SIZE} publications; they drop, ${MISSED} publications go to the room, and they all reconnect (${CONCURRENCY} at a time), each joining with \`recover\` from the position its first join reported; the server replays the ${MISSED} it missed before the join's ack. Timed from the first reconnect to the last ack (connect, authenticate, join, replay; every client checked to have recovered all ${MISSED}); ${ctx.runs} run(s). The clients run in the runner process.`,
  variants: (ctx) => {
    const n = ctx.sizes?.[0] ?? (ctx.quick ? 200 : 1000)
    return [{ key: `n${n}`, label: `N = ${n.toLocaleString('en-US')}, ${MISSED} missed each`, n }]
  },
  metrics: [
    { key: 'replayedPerSec', label: 'replayed publications/s', better: 'higher', format: 'int' },
    { key: 'recoveriesPerSec', label: 'recoveries/s', better: 'higher', format: 'int' },
    { key: 'replayedPerCpuSec', label: 'replayed per server CPU-s', better: 'higher', format: 'int' },
    { key: 'serverCpuUtil', label: 'server CPU', better: 'info', format: 'percent' },
  ],
  async measure(kind, variant, ctx) {
    const server = await Server.start(kind, { cores: ctx.plan.server, profile: ctx.profile, args: ['--history', String(SIZE)] })
    let sessions = []
    let probe
    try {
      sessions = await inLanes(variant.n, CONCURRENCY, (i) => session(server.port, `client-${i}`))
      const positions = sessions.map(({ stream }) => ({ epoch: stream.epoch, offset: stream.offset }))
      await terminateAll(sessions)
      sessions = []

      // The missed publications, from a member of the room that stays: once it has them all, they are stored.
      probe = await session(server.port, 'probe')
      const publisher = await session(server.port, 'publisher')
      let seen = 0
      const allSeen = new Promise((resolve) => {
        probe.socket.on('message', (data) => {
          if (data.toString().includes('"event":"msg"') && ++seen === MISSED) resolve()
        })
      })
      for (let seq = 0; seq < MISSED; seq++) {
        publisher.socket.send(JSON.stringify({ event: 'publish', data: { room: ROOM, msg: { seq, t: nowMicros(), text: 'missed' } } }))
      }
      await allSeen
      await terminateAll([publisher])

      const cpuBefore = server.cpu()
      const started = process.hrtime.bigint()
      sessions = await inLanes(variant.n, CONCURRENCY, (i) => session(server.port, `client-${i}`, positions[i]))
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      const cpu = server.cpu() - cpuBefore
      const bad = sessions.filter(({ stream, messages }) => stream.recovered !== true || stream.replayed !== MISSED || messages !== MISSED)
      if (bad.length > 0) throw new Error(`${bad.length} clients did not recover all ${MISSED}: ${JSON.stringify(bad[0].stream)}`)
      const replayed = variant.n * MISSED
      return {
        replayedPerSec: replayed / seconds,
        recoveriesPerSec: variant.n / seconds,
        replayedPerCpuSec: replayed / cpu,
        serverCpuUtil: cpu / seconds,
      }
    } finally {
      await terminateAll(probe === undefined ? sessions : [...sessions, probe])
      await server.stop()
    }
  },
}
