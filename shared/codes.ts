/**
 * WebSocket close codes used by roomcast. The numbers are part of the wire contract: clients
 * decide from them whether to reconnect, so a code never changes meaning once published.
 */
export const CloseCode = {
  /** Closed on purpose by either side (client `close()`, server `disconnect()` without a code). */
  Normal: 1000,
  /** The server is shutting down; reconnect (to another node) after a backoff. */
  ServerShutdown: 1001,
  /** A binary frame was received; the native protocol is text-only JSON. */
  UnsupportedData: 1003,
  /**
   * A text frame that is not valid UTF-8 (RFC 6455 §8.1). A client that sends only strings never
   * causes it, so it points at a broken client or middlebox; reconnecting is safe.
   */
  InvalidPayload: 1007,
  /**
   * Policy violation: message rate limit exceeded, or the socket fell too far behind (backpressure:
   * past `maxBufferedBytes` under `close`, past `maxDropped` drops in a row under `drop`).
   */
  PolicyViolation: 1008,
  /** A frame larger than the server's `maxPayload`. */
  MessageTooBig: 1009,
  /** An internal error on the server; safe to reconnect. */
  InternalError: 1011,
  /** The client did not authenticate within the server's auth timeout. */
  AuthTimeout: 4001,
  /** No sign of life (heartbeat or any frame) within the heartbeat timeout. */
  HeartbeatTimeout: 4002,
  /** Authentication was refused. Reconnecting with the same credentials will fail again. */
  AuthRefused: 4003,
  /** The server disconnected this connection on purpose (kick, `users.disconnect`). Do not reconnect. */
  Kicked: 4004,
  /** Closed by a gradual `drain()`; reconnect, ideally to another node. */
  Draining: 4005,
  /** The server requires client-to-server encryption and the handshake did not complete in time. */
  EncryptionRequired: 4010,
  /** An encrypted frame failed to decrypt, was replayed or out of order, or plaintext was sent after the handshake. */
  EncryptionViolation: 4011,
} as const

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode]

/**
 * Error codes carried by the `error` event. A connection that receives one stays open unless the
 * code's description says otherwise.
 */
export const ErrorCode = {
  /** The frame is not valid JSON. */
  BadJson: 'bad_json',
  /** The frame nests objects and arrays deeper than `MAX_JSON_DEPTH` (64) levels; it is refused before parsing. */
  TooDeep: 'too_deep',
  /** The frame is JSON but not an envelope `{ event, data?, id? }`. */
  BadEnvelope: 'bad_envelope',
  /** No handler and no schema is known for this event name. */
  UnknownEvent: 'unknown_event',
  /** `data` failed the event's schema; `details` lists the failing paths. */
  InvalidData: 'invalid_data',
  /** An event other than `authenticate` arrived before authentication completed. */
  NotAuthenticated: 'not_authenticated',
  /** `authenticate` arrived on a connection that is already authenticated. */
  AlreadyAuthenticated: 'already_authenticated',
  /** Authentication was refused; the connection is closed with 4003. */
  AuthRefused: 'auth_refused',
  /** A binary frame was received; the connection is closed with 1003. */
  BinaryNotSupported: 'binary_not_supported',
  /** `authorizeJoin` allowed none of the requested rooms. */
  JoinRefused: 'join_refused',
  /** Joining would exceed the per-connection room limit. */
  RoomLimit: 'room_limit',
  /** A room name is empty, too long or otherwise invalid. */
  InvalidRoom: 'invalid_room',
  /** Too many messages; the connection is closed with 1008 right after. */
  RateLimited: 'rate_limited',
  /** The application handler threw; `message` is the handler's only when it threw a `RoomcastError`. */
  HandlerError: 'handler_error',
  /** The server failed in a way that is not the client's fault. */
  Internal: 'internal_error',
  /**
   * An application hook on the server (`authenticate`, `authorizeJoin`) did not answer within
   * `hookTimeout`. After `authenticate` the connection is closed with 1011 (the client may
   * reconnect); after `join` it stays open. Also the `code` of the 503 body that refuses an
   * upgrade whose `authenticateRequest` did not answer.
   */
  HookTimeout: 'hook_timeout',
  /** Client side: a request got no reply within its timeout. */
  Timeout: 'timeout',
  /** Client side: the connection closed before a reply arrived. */
  Disconnected: 'disconnected',
  /** Client side: an outgoing message was refused before sending (schema, queue full, closed client). */
  NotSent: 'not_sent',
  /** Client side: the client's `auth` function threw or rejected; the client retries after a backoff. */
  AuthFailed: 'auth_failed',
  /** Encryption: the handshake or a frame failed. */
  EncryptionFailed: 'encryption_failed',
  /**
   * Server side: a delivery reached the recipients on its own node but the cluster bus (Redis)
   * did not take it, so recipients on other nodes did not get it. `emit()` rejects with it; a
   * handler that lets it through answers its client's request with it.
   */
  PublishFailed: 'publish_failed',
  /** A `history` request named a room that keeps no history (see the server's `history` option). */
  NoHistory: 'no_history',
} as const

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

/** What a client does after a close; see `closePolicy`. */
export const CloseAction = {
  /** Try again after a backoff. */
  Reconnect: 'reconnect',
  /** Stop for good: the same attempt would fail again. */
  End: 'end',
  /**
   * Stop when the server closed on purpose (socket.io's "io server disconnect"); the client's
   * own close with this code, for an attempt it gave up on (a failing auth function), is retried.
   */
  EndWhenServerCloses: 'end-when-server-closes',
  /** Stop when the client has no encryption transform, without which no attempt can complete. */
  EndWithoutTransform: 'end-without-transform',
} as const

export type CloseAction = (typeof CloseAction)[keyof typeof CloseAction]

/** A close code's line in `closePolicy`: what the client does, and the error it ends with when it stops. */
export type ClosePolicy =
  | { readonly action: typeof CloseAction.Reconnect }
  | {
      readonly action: Exclude<CloseAction, typeof CloseAction.Reconnect>
      readonly error: ErrorCode
      /** The error's message, followed by the close code and reason. */
      readonly says: string
      /** The server explains itself better: its refusal (an `error` sent before the close), else its close reason, is the error. */
      readonly serverExplains?: true
    }

const reconnect: ClosePolicy = { action: CloseAction.Reconnect }
const endedForGood = 'the server ended the connection for good'

/**
 * The close policy, one line per close code: the README's "client reconnects" column and what
 * the client applies (client/close-policy.ts). A new close code needs its line here, or the type
 * check fails. Codes not listed (1005, 1006, an application's own 4xxx) reconnect.
 */
export const closePolicy = {
  [CloseCode.Normal]: { action: CloseAction.EndWhenServerCloses, error: ErrorCode.Disconnected, says: 'the server closed the connection' },
  [CloseCode.ServerShutdown]: reconnect,
  [CloseCode.UnsupportedData]: { action: CloseAction.End, error: ErrorCode.Disconnected, says: endedForGood },
  [CloseCode.InvalidPayload]: reconnect,
  [CloseCode.PolicyViolation]: reconnect,
  [CloseCode.MessageTooBig]: reconnect,
  [CloseCode.InternalError]: reconnect,
  [CloseCode.AuthTimeout]: reconnect,
  [CloseCode.HeartbeatTimeout]: reconnect,
  [CloseCode.AuthRefused]: { action: CloseAction.End, error: ErrorCode.AuthRefused, says: 'authentication refused', serverExplains: true },
  [CloseCode.Kicked]: { action: CloseAction.End, error: ErrorCode.Disconnected, says: endedForGood },
  [CloseCode.Draining]: reconnect,
  [CloseCode.EncryptionRequired]: {
    action: CloseAction.EndWithoutTransform,
    error: ErrorCode.EncryptionFailed,
    says: 'the server requires client-to-server encryption: pass `transform: clientEncryption()`',
  },
  [CloseCode.EncryptionViolation]: { action: CloseAction.End, error: ErrorCode.EncryptionFailed, says: 'encryption failed, the connection was ended for good' },
} as const satisfies Record<CloseCode, ClosePolicy>

/** The policy line of any close code: `reconnect` for one the table does not list. */
export function closePolicyOf(code: number): ClosePolicy {
  return Object.hasOwn(closePolicy, code) ? closePolicy[code as CloseCode] : reconnect
}

/** Close codes after which a client must not reconnect on its own: the same attempt would fail again. */
export const terminalCloseCodes: ReadonlySet<number> = new Set<number>(Object.values(CloseCode).filter((code) => closePolicy[code].action === CloseAction.End))
