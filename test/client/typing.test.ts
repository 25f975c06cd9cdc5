// biome-ignore-all lint/complexity/noCommaOperator: compile-time checks mark values used with `void a, b`
// biome-ignore-all lint/correctness/noUnusedVariables: the typed declarations are the checks
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import WebSocket from 'ws'
import { RoomcastClient, type ClientState, type RoomcastError } from '../../client/index.js'
import { defineEvents, Type } from '../../shared/index.js'

const events = defineEvents({
  toServer: {
    'chat.send': Type.Object({ room: Type.String(), text: Type.String() }),
    'chat.ping': Type.Object({}),
  },
  toClient: {
    'chat.message': Type.Object({ room: Type.String(), text: Type.String() }),
  },
  replies: {
    'chat.send': Type.Object({ delivered: Type.Boolean() }),
  },
})

/**
 * Compile-time checks: never called, only type-checked by the test below. Each
 * `@ts-expect-error` must meet an error, or the check fails.
 */
export function typeChecks(client: RoomcastClient<typeof events>): void {
  client.on('chat.message', (message, meta) => {
    const text: string = message.text
    const room: string | undefined = meta.room
    void text, room
  })
  // @ts-expect-error an event the server never sends
  client.on('chat.nope', () => {})
  // @ts-expect-error the payload of chat.message has no numeric text
  client.on('chat.message', (message: { text: number }) => void message)
  client.on('state', ({ state, previous }) => {
    const now: ClientState = state
    void now, previous
  })
  client.once('error', (error: RoomcastError) => void error.code)
  client.on('reconnecting', (info) => void (info.delay ?? info.attempt))
  client.on('presence', (change) => void (change.action === 'join'))
  client.off('chat.message')

  client.emit('chat.send', { room: 'lobby', text: 'hi' })
  // @ts-expect-error toClient events cannot be emitted
  client.emit('chat.message', { room: 'lobby', text: 'hi' })
  // @ts-expect-error text is missing
  client.emit('chat.send', { room: 'lobby' })
  // @ts-expect-error protocol events are not app events
  client.emit('join', { rooms: ['a'] })

  const delivered: Promise<{ delivered: boolean }> = client.request('chat.send', { room: 'lobby', text: 'hi' })
  const untyped: Promise<unknown> = client.request('chat.ping', {}, { timeout: 100 })
  // @ts-expect-error the reply of chat.send is not a string
  const wrong: Promise<string> = client.request('chat.send', { room: 'lobby', text: 'hi' })
  void delivered, untyped, wrong

  // Both the `ws` package and the platform's WebSocket fit the option.
  void new RoomcastClient<typeof events>('ws://127.0.0.1:1/ws', { WebSocket, events, auth: async () => ({ token: 't' }) })
  void new RoomcastClient('ws://127.0.0.1:1/ws', { WebSocket: globalThis.WebSocket, auth: { token: 't' } })
  // Without an events map: any name, unknown payloads.
  const loose = new RoomcastClient('ws://127.0.0.1:1/ws', { WebSocket })
  loose.on('anything', (data: unknown) => void data)
  loose.emit('anything', 1)
}

t.test('the client API is typed from the events map', async (t) => {
  const file = fileURLToPath(import.meta.url)
  const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url))
  const args = [
    tsc,
    '--noEmit',
    '--strict',
    '--skipLibCheck',
    '--verbatimModuleSyntax',
    '--module',
    'nodenext',
    '--moduleResolution',
    'nodenext',
    '--target',
    'es2022',
    '--lib',
    'es2023,dom',
    '--types',
    'node',
    file,
  ]
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile(process.execPath, args, (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code ?? 1), output: stdout + stderr }))
  })
  t.equal(output, '', 'tsc reports nothing')
  t.equal(code, 0)
})
