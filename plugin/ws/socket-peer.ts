import type { EventEmitter } from 'node:events'
import type { FastifyBaseLogger } from 'fastify'
import type WebSocket from 'ws'
import type { RawData } from 'ws'
import { CloseCode } from '../../shared/codes.js'
import type { BackpressureEvents, SocketSink } from './socket-sink.js'

/**
 * What a protocol session does with its socket's events. The listeners on the socket are the
 * same functions for every socket (they find the session through the socket), so an idle
 * connection holds no closures, contexts or listener arrays of its own.
 */
export interface SocketPeer extends BackpressureEvents {
  /** The logger socket errors go to. */
  readonly log: FastifyBaseLogger
  /** A message from the peer. */
  receive(data: RawData, isBinary: boolean): void
  /** A pong frame arrived. */
  pong(): void
  /**
   * The connection is over for the server (see `attachPeer`); called once. `refusedFrame`: ws
   * refused a frame of the peer's (bad UTF-8, too large) and closed with `code`.
   */
  peerClosed(code: number, reason: string, refusedFrame: boolean): void
}

/** What ws reports for a connection that ended without a close frame. */
const ABNORMAL_CLOSURE = 1006

/**
 * The close code ws sends when it refuses an incoming frame, by ws's error code
 * (ws/lib/receiver.js). After such an error ws stops reading and the socket's error handler
 * cuts it, so the socket's own 'close' event reports 1006; the code the peer was sent is the
 * one the server should report too.
 */
const REFUSAL_CODES: Readonly<Record<string, number>> = {
  WS_ERR_INVALID_UTF8: CloseCode.InvalidPayload,
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: CloseCode.MessageTooBig,
  WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH: CloseCode.MessageTooBig,
}

/** The sink of a socket roomcast serves; shared listeners find their socket's state here. */
const SINK = Symbol('roomcast.sink')

/** The parts of ws's WebSocket that tell of a close before its `close` event. Checked at run time. */
interface ClosingInternals {
  /** ws's frame parser; emits `conclude` (code, reason) the moment a close frame is parsed. */
  _receiver?: EventEmitter | null
  /** The TCP socket. */
  _socket?: EventEmitter | null
}

type Served = WebSocket & { [SINK]?: SocketSink<SocketPeer> }

/**
 * ws's private symbol by which its receiver and TCP socket point back at their WebSocket,
 * found once by its description; undefined when ws's internals differ.
 */
let backSymbol: symbol | undefined | null = null

function backSymbolOf(emitter: object): symbol | undefined {
  if (backSymbol === null) backSymbol = Object.getOwnPropertySymbols(emitter).find((symbol) => symbol.description === 'websocket')
  return backSymbol
}

/** The sink of the socket an internal emitter (ws's receiver, the TCP socket) belongs to. */
function sinkBehind(emitter: object): SocketSink<SocketPeer> | undefined {
  const symbol = backSymbolOf(emitter)
  if (symbol === undefined) return undefined
  return ((emitter as Record<symbol, unknown>)[symbol] as Served | undefined)?.[SINK]
}

function closing(sink: SocketSink<SocketPeer> | undefined, code: number, reason: string): void {
  if (sink === undefined || sink.peerGone) return
  sink.peerGone = true
  const refused = sink.refused
  sink.peer?.peerClosed(refused?.code ?? code, refused?.reason ?? reason, refused !== undefined)
}

function onMessage(this: Served, data: RawData, isBinary: boolean): void {
  this[SINK]?.peer?.receive(data, isBinary)
}

function onPong(this: Served): void {
  this[SINK]?.peer?.pong()
}

function onClose(this: Served, code: number, reason: Buffer): void {
  closing(this[SINK], code, reason.toString())
}

function onConclude(this: EventEmitter, code: unknown, reason: unknown): void {
  closing(sinkBehind(this), typeof code === 'number' ? code : ABNORMAL_CLOSURE, Buffer.isBuffer(reason) ? reason.toString('utf8') : '')
}

function onSocketEnd(this: EventEmitter): void {
  closing(sinkBehind(this), ABNORMAL_CLOSURE, '')
}

/** Records a refused frame's close code; the report of the close uses it instead of 1006. */
function onError(this: Served, error: Error & { code?: string }): void {
  const sink = this[SINK]
  if (sink === undefined) return
  const code = error.code === undefined ? undefined : REFUSAL_CODES[error.code]
  if (code !== undefined && sink.refused === undefined) sink.refused = { code, reason: error.message }
}

/** The same, then what @fastify/websocket's default error handler does: log and cut the socket. */
function onErrorOwned(this: Served, error: Error & { code?: string }): void {
  onError.call(this, error)
  this[SINK]?.peer?.log.error(error)
  this.terminate()
}

/**
 * Sends a served socket's events to its session: messages, pongs, and the moment the connection
 * is over for the server, reported once with the close code that applies.
 *
 * That moment is as soon as the peer's close frame arrived or the TCP socket ended or failed:
 * ws's own `close` event comes only after the closing handshake and the TCP teardown, so a
 * client that sends its close frame and then stalls would keep its rooms, presence and counts
 * for up to ws's 30 s close timer. ws has no public event for "close frame received", so this
 * listens to its receiver's `conclude` event (emitted right after ws records the peer's code)
 * and to the TCP socket's `end` / `error`. Each is looked up at run time; when ws's internals
 * differ, the `close` event, always listened to as well, is the fallback. A refused frame (bad
 * UTF-8, too large) is reported with the code ws sent the peer (1007, 1009), not 1006.
 *
 * `ownsErrorHandling`: roomcast registered @fastify/websocket itself, whose per-socket error
 * listener (the default handler, holding the request and reply for the connection's life) is
 * then replaced by the same behaviour: log on the connection's logger, terminate.
 */
export function attachPeer(ws: WebSocket, sink: SocketSink<SocketPeer>, peer: SocketPeer, ownsErrorHandling: boolean): void {
  sink.peer = peer
  const served = ws as Served
  served[SINK] = sink
  if (ownsErrorHandling && ws.listenerCount('error') === 1) {
    ws.removeAllListeners('error')
    ws.on('error', onErrorOwned)
  } else {
    ws.on('error', onError)
  }
  ws.on('message', onMessage)
  ws.on('pong', onPong)
  const internals = ws as unknown as ClosingInternals
  const receiver = internals._receiver
  if (receiver != null && typeof receiver.on === 'function' && backSymbolOf(receiver) !== undefined) receiver.on('conclude', onConclude)
  const socket = internals._socket
  if (socket != null && typeof socket.on === 'function' && backSymbolOf(socket) !== undefined) {
    socket.on('end', onSocketEnd)
    socket.on('error', onSocketEnd)
  }
  ws.on('close', onClose)
}
