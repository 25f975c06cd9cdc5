export { RoomcastClient, type JoinOptions, type RequestOptions } from './client.js'
export type {
  AuthContext,
  AuthProvider,
  AuthOption,
  ReconnectOptions,
  RoomcastClientOptions,
} from './options.js'
export { clientDefaults } from './options.js'
export type { ClientState } from './state.js'
export { canTransition } from './state.js'
export type {
  ClientEventMap,
  ClientEventName,
  ConnectedInfo,
  DisconnectedInfo,
  EventHandler,
  HistoryOptions,
  HistoryResult,
  ListenableEvent,
  MessageMeta,
  Publication,
  ReconnectingInfo,
  RecoveryInfo,
  StateChange,
} from './events.js'
export type { ClientTransformFactory, FrameTransform, TransformHandshake } from './transform.js'
export { clientEncryption, type ClientEncryptionOptions, endToEndEncryption, type EndToEndOptions } from './encryption.js'
export { generateServerIdentity } from '../shared/e2e/identity.js'
export type { WebSocketConstructor, WebSocketLike } from './socket.js'
export type { BackoffOptions } from './backoff.js'
export { CloseCode, ErrorCode, terminalCloseCodes } from '../shared/codes.js'
export { ClientEvent } from '../shared/client-events.js'
export { RoomcastError } from '../shared/errors.js'
export { AuthRefusedError } from '../shared/auth-refusal.js'
export type {
  DroppedPayload,
  ErrorDetail,
  JoinReply,
  LeaveReply,
  MembershipPayload,
  PresencePayload,
  RecoveryFailure,
  StreamPosition,
  StreamState,
} from '../shared/envelope.js'
export type { AuthData, EventsDefinition, ToClientData, ToClientEvent, ToServerData, ToServerEvent, ReplyData } from '../shared/events.js'
