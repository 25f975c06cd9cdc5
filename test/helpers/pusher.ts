import { createRequire } from 'node:module'
import type { FastifyInstance } from 'fastify'
import Pusher from 'pusher'
import type { Options as PusherClientOptions } from 'pusher-js'
import type WebSocket from 'ws'
import type { PusherAppConfig, RoomcastOptions } from '../../plugin/index.js'
import { RawClient, startServer, type Frame } from './server.js'

/**
 * pusher-js's Node build is CommonJS whose `module.exports` is the class itself, while its
 * typings describe an ES default export; require it so that the value and the type agree.
 */
type PusherClient = import('pusher-js').default
const PusherClient = createRequire(import.meta.url)('pusher-js') as typeof import('pusher-js').default

/**
 * faye-websocket (bundled in pusher-js's Node build) arms a 30 s close timer even when asked to
 * close a socket that is already closed, which pusher-js does after every refusal (4001, 4004,
 * 4009, ...). The timer changes nothing once the socket is closed; unref it so that a test
 * process can exit as soon as its work is done.
 */
const FayeClient = (PusherClient as unknown as { Runtime: { getWebSocketAPI(): { prototype: { close(...args: unknown[]): void } } } }).Runtime.getWebSocketAPI()
const fayeClose = FayeClient.prototype.close
FayeClient.prototype.close = function (this: { _closeTimer?: NodeJS.Timeout }, ...args: unknown[]) {
  fayeClose.apply(this, args)
  this._closeTimer?.unref()
}

export const APP: PusherAppConfig = { id: 'app-id', key: 'app-key', secret: 'app-secret', enableClientMessages: true }

/** A 32-byte master key for encrypted channels, base64. */
export const MASTER_KEY = Buffer.alloc(32, 7).toString('base64')

export interface PusherServer {
  app: FastifyInstance
  port: number
  /** ws URL of an app key, with `?protocol=7` unless a query is given. */
  url(key?: string, query?: string): string
  /** The `pusher` server SDK for an app, used here only for its signing helpers. */
  sdk(app?: PusherAppConfig): Pusher
}

/** A Fastify server with the plugin and the `pusher` option; short heartbeats unless told otherwise. */
export async function startPusherServer(
  options: Partial<RoomcastOptions> & { apps?: PusherAppConfig[] } = {},
  setup?: (app: FastifyInstance) => void | Promise<void>,
): Promise<PusherServer> {
  const { apps, pusher, ...rest } = options
  const { app, port } = await startServer(
    {
      heartbeat: { interval: 10_000, timeout: 30_000 },
      ...rest,
      pusher: { apps: apps ?? [APP], ...pusher },
    },
    setup,
  )
  const prefix = pusher?.pathPrefix ?? ''
  return {
    app,
    port,
    url: (key = APP.key, query = 'protocol=7&client=js&version=8.6.0') => `ws://127.0.0.1:${port}${prefix}/app/${key}${query === '' ? '' : '?' + query}`,
    sdk: (config = APP) =>
      new Pusher({ appId: config.id, key: config.key, secret: config.secret, host: '127.0.0.1', port: String(port), encryptionMasterKeyBase64: MASTER_KEY }),
  }
}

export interface PusherFrame extends Frame {
  channel?: string
  user_id?: string | number
}

/** A raw ws client on a Pusher URL that waits for `pusher:connection_established` and knows its socket id. */
export async function rawPusher(url: string): Promise<{ client: RawClient; socketId: string; established: PusherFrame }> {
  const client = await RawClient.open(url)
  const established = await client.next('pusher:connection_established')
  const socketId = (JSON.parse(established.data as string) as { socket_id: string }).socket_id
  return { client, socketId, established }
}

/** The frames a raw client recorded, with their Pusher fields. */
export function framesOf(client: RawClient): PusherFrame[] {
  return client.frames as PusherFrame[]
}

/** Waits for the raw frame text of the next message (for exact-bytes assertions). */
export function nextText(ws: WebSocket, match: (text: string) => boolean = () => true, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.off('message', onMessage)
      reject(new Error('no matching message'))
    }, timeoutMs)
    const onMessage = (raw: WebSocket.RawData): void => {
      const text = raw.toString()
      if (!match(text)) return
      clearTimeout(timer)
      ws.off('message', onMessage)
      resolve(text)
    }
    ws.on('message', onMessage)
  })
}

export interface ClientOptions {
  /** Presence `channel_data` the auth handler signs: a user id and info, per channel name. */
  presence?: (channel: string) => { user_id: string | number; user_info?: unknown }
  /** User data for sign-in. */
  user?: { id: string; [key: string]: unknown }
  /** Sign with another secret (auth failures). */
  badSecret?: boolean
  extra?: Partial<PusherClientOptions>
}

/**
 * A real pusher-js client (its Node build, which carries tweetnacl for encrypted channels),
 * whose channel and user auth handlers sign in-process with the `pusher` SDK.
 */
export function pusherJs(server: Pick<PusherServer, 'port' | 'sdk'>, options: ClientOptions = {}, app: PusherAppConfig = APP): PusherClient {
  const signer = server.sdk(options.badSecret ? { ...app, secret: 'wrong-secret' } : app)
  return new PusherClient(app.key, {
    cluster: 'x',
    wsHost: '127.0.0.1',
    wsPort: server.port,
    forceTLS: false,
    enabledTransports: ['ws'],
    enableStats: false,
    channelAuthorization: {
      customHandler: ({ socketId, channelName }, callback) => {
        try {
          const presence = channelName.startsWith('presence-') ? options.presence?.(channelName) : undefined
          callback(null, signer.authorizeChannel(socketId, channelName, presence as Pusher.PresenceChannelData | undefined))
        } catch (err) {
          callback(err as Error, null)
        }
      },
    },
    userAuthentication: {
      customHandler: ({ socketId }, callback) => {
        if (options.user === undefined) {
          callback(new Error('no user'), null)
          return
        }
        callback(null, signer.authenticateUser(socketId, options.user))
      },
    },
    ...options.extra,
  })
}

/** Resolves when a pusher-js client reaches a connection state. */
export function whenState(client: PusherClient, state: string, timeoutMs = 5000): Promise<void> {
  if (client.connection.state === state) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pusher-js stayed ${client.connection.state}, never ${state}`)), timeoutMs)
    const onChange = ({ current }: { current: string }): void => {
      if (current !== state) return
      clearTimeout(timer)
      client.connection.unbind('state_change', onChange)
      resolve()
    }
    client.connection.bind('state_change', onChange)
  })
}

/** Resolves with the first emission of an event on a pusher-js emitter (channel, connection, user). */
export function once<T = unknown>(
  emitter: { bind(event: string, cb: (...args: any[]) => void): unknown; unbind(event: string, cb: (...args: any[]) => void): unknown },
  event: string,
  timeoutMs = 5000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs)
    const handler = (data: T): void => {
      clearTimeout(timer)
      emitter.unbind(event, handler)
      resolve(data)
    }
    emitter.bind(event, handler)
  })
}

/** Resolves with the first emission of an event and its metadata (client events carry `user_id` there). */
export function onceWithMeta<T = unknown>(
  emitter: { bind(event: string, cb: (...args: any[]) => void): unknown; unbind(event: string, cb: (...args: any[]) => void): unknown },
  event: string,
  timeoutMs = 5000,
): Promise<{ data: T; metadata: { user_id?: string } }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs)
    const handler = (data: T, metadata: { user_id?: string }): void => {
      clearTimeout(timer)
      emitter.unbind(event, handler)
      resolve({ data, metadata })
    }
    emitter.bind(event, handler)
  })
}

export async function connected(client: PusherClient): Promise<string> {
  await whenState(client, 'connected')
  return client.connection.socket_id
}
