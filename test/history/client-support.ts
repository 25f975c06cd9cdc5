import { createServer, connect, type Server, type Socket } from 'node:net'
import type { RoomcastClient } from '../../client/index.js'
import type { RecoveryInfo } from '../../client/events.js'
import type { Test } from 'tap'
import { nextEvent, testClient, type TestEvents } from '../helpers/client.js'
import { until } from '../helpers/server.js'

/**
 * A TCP proxy between a client and a server that a test can cut: `cut()` destroys every
 * connection through it (the client sees its socket die, as on a network blip) and refuses
 * new ones until `restore()`.
 */
export interface CutProxy {
  /** `ws://127.0.0.1:<proxy port>/ws` */
  url: string
  /** Points new connections at another server (a client that reconnects to another node). */
  retarget(port: number): void
  cut(): void
  restore(): void
  /** Connections made through the proxy so far. */
  readonly accepted: number
  close(): Promise<void>
}

export async function startCutProxy(targetPort: number): Promise<CutProxy> {
  let target = targetPort
  let cut = false
  let accepted = 0
  const pairs = new Set<[Socket, Socket]>()
  const server: Server = createServer((downstream) => {
    if (cut) {
      downstream.destroy()
      return
    }
    accepted++
    const upstream = connect(target, '127.0.0.1')
    const pair: [Socket, Socket] = [downstream, upstream]
    pairs.add(pair)
    const end = (): void => {
      pairs.delete(pair)
      downstream.destroy()
      upstream.destroy()
    }
    downstream.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
    downstream.pipe(upstream)
    upstream.pipe(downstream)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  const destroyAll = (): void => {
    for (const [downstream, upstream] of [...pairs]) {
      downstream.destroy()
      upstream.destroy()
    }
    pairs.clear()
  }
  return {
    url: `ws://127.0.0.1:${address.port}/ws`,
    retarget(port) {
      target = port
    },
    cut() {
      cut = true
      destroyAll()
    },
    restore() {
      cut = false
    },
    get accepted() {
      return accepted
    },
    close() {
      destroyAll()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

/** Every `said` a client receives from `room`, by the sequence number in its text; and its `recovery` events. */
export function recordSequence(client: RoomcastClient<TestEvents>, room: string): { received: number[]; recoveries: RecoveryInfo[] } {
  const received: number[] = []
  const recoveries: RecoveryInfo[] = []
  client.on('said', (message, meta) => {
    if (meta.room === room) received.push(Number(message.text.split(' ')[0]))
  })
  client.on('recovery', (info) => recoveries.push(info))
  return { received, recoveries }
}

/**
 * A test client reaching the server on `port` through a cut proxy, recording room `feed`
 * (`recordSequence`), ready and joined to it; proxy and client end with the test.
 */
export async function joinFeedThroughCut(
  t: Test,
  port: number,
): Promise<{ proxy: CutProxy; client: RoomcastClient<TestEvents>; received: number[]; recoveries: RecoveryInfo[] }> {
  const proxy = await startCutProxy(port)
  t.teardown(() => proxy.close())
  const client = testClient(proxy.url)
  t.teardown(() => client.close())
  const { received, recoveries } = recordSequence(client, 'feed')
  await client.ready()
  await client.join('feed')
  return { proxy, client, received, recoveries }
}

/** `count` numbers from 0: what a client should have received, once each and in order. */
export function sequence(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i)
}

/** A steady stream of numbered messages (`every` ms apart) until stopped; `sent` counts them, `failures` keeps refused publications. */
export function stream(send: (n: number) => Promise<unknown>, every: number): { readonly sent: number; failures: unknown[]; stop(): void } {
  let sent = 0
  const failures: unknown[] = []
  const timer = setInterval(() => {
    send(sent++).catch((error: unknown) => failures.push(error))
  }, every)
  return {
    get sent() {
      return sent
    },
    failures,
    stop: () => clearInterval(timer),
  }
}

type Feed = ReturnType<typeof stream>

/** 50 messages a second, as the stream. */
export const EVERY_MS = 20
/** About one second of the stream is published while the network is cut. */
export const DURING_CUT = 50
/** Publications in a whole cut-and-recover run. */
export const TOTAL = 200

/**
 * Cuts the client's network until `DURING_CUT` more publications of `feed` went out, then lets
 * it reconnect (to `retargetPort` when given: another node); resolves with its `connected` info.
 */
export async function cutDuringStream(client: RoomcastClient<TestEvents>, proxy: CutProxy, feed: Feed, retargetPort?: number): Promise<unknown> {
  const lost = nextEvent(client, 'reconnecting', 10_000)
  proxy.cut()
  await lost
  const cutAt = feed.sent
  await until(() => feed.sent >= cutAt + DURING_CUT, 10_000, 'a second of the stream passes')
  if (retargetPort !== undefined) proxy.retarget(retargetPort)
  const back = nextEvent(client, 'connected', 10_000)
  proxy.restore()
  return back
}

/** Lets the stream run to `TOTAL`, then asserts the client got every publication once, in order. */
export async function expectWholeStream(t: Test, feed: Feed, received: readonly number[]): Promise<void> {
  await until(() => feed.sent >= TOTAL, 10_000, 'the stream goes on')
  feed.stop()
  const published = feed.sent
  await until(() => received.length >= published, 10_000, 'every published message arrives')
  t.same(feed.failures, [], 'every publication was stored')
  t.equal(received.length, published, 'each message once: no duplicates')
  t.same(received, sequence(published), 'every message, in order')
}
