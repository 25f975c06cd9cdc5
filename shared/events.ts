import { KindGuard, type Static, type TSchema } from '@sinclair/typebox'
import { isClientEvent } from './client-events.js'
import { isSystemEvent, MAX_EVENT_NAME_LENGTH } from './envelope.js'
import { validatorFor, type Validator } from './validator.js'

/** Event name → TypeBox schema of its `data`. */
export type EventSchemas = Record<string, TSchema>

/** Optional reply schemas for `toServer` events that are used as requests. */
export type ReplySchemas<S extends EventSchemas> = { [K in keyof S]?: TSchema }

/**
 * One application's events, shared by the server and the client. The schemas give both ends
 * their static types and validate every message at run time.
 */
export interface EventsDefinition<
  S extends EventSchemas = EventSchemas,
  C extends EventSchemas = EventSchemas,
  R extends ReplySchemas<S> = ReplySchemas<S>,
  A extends TSchema | undefined = TSchema | undefined,
> {
  readonly toServer: S
  readonly toClient: C
  readonly replies: R
  /** Schema of the data a client sends in `authenticate` (its credentials), when the application declares one. */
  readonly auth: A
  /** The validator of the `authenticate` data, or undefined when no schema was declared. */
  authValidator(): Validator | undefined
  /** The validator of a client → server event, or undefined for an unknown name. */
  toServerValidator(event: string): Validator | undefined
  /** The validator of a server → client event, or undefined for an unknown name. */
  toClientValidator(event: string): Validator | undefined
}

/** Definition used when an application declares no events: any name, `unknown` data. */
export type AnyEvents = EventsDefinition<EventSchemas, EventSchemas, ReplySchemas<EventSchemas>, TSchema | undefined>

export type ToServerEvent<E extends EventsDefinition> = keyof E['toServer'] & string
export type ToClientEvent<E extends EventsDefinition> = keyof E['toClient'] & string
export type ToServerData<E extends EventsDefinition, K extends ToServerEvent<E>> = Static<E['toServer'][K]>
export type ToClientData<E extends EventsDefinition, K extends ToClientEvent<E>> = Static<E['toClient'][K]>
/** What a request's ack carries: the reply schema's type when one is declared, else `unknown`. */
export type ReplyData<E extends EventsDefinition, K extends ToServerEvent<E>> = K extends keyof E['replies']
  ? E['replies'][K] extends TSchema
    ? Static<E['replies'][K]>
    : unknown
  : unknown

/**
 * What a client sends in `authenticate` and the server's `authenticate(data)` receives: the
 * declared `auth` schema's type, else `unknown` (anything, unchecked).
 */
export type AuthData<E extends EventsDefinition> = E['auth'] extends TSchema ? Static<E['auth']> : unknown

/**
 * Declares the events of an application. Names must not collide with the protocol's own
 * events (`join`, `ack`, …); schemas are compiled lazily, once each. `auth`, when given, is the
 * schema of the client's `authenticate` data: the server checks it before its `authenticate`
 * hook runs, and both ends are typed from it.
 */
export function defineEvents<
  const S extends EventSchemas,
  const C extends EventSchemas,
  const R extends ReplySchemas<S> = Record<never, never>,
  const A extends TSchema | undefined = undefined,
>(definition: { toServer: S; toClient: C; replies?: R; auth?: A }): EventsDefinition<S, C, R, A> {
  for (const name of [...Object.keys(definition.toServer), ...Object.keys(definition.toClient)]) {
    if (name.length === 0 || name.length > MAX_EVENT_NAME_LENGTH) {
      throw new TypeError(`roomcast: event name "${name}" must be 1 to ${MAX_EVENT_NAME_LENGTH} characters`)
    }
    if (isSystemEvent(name)) {
      throw new TypeError(`roomcast: "${name}" is a protocol event and cannot be an application event`)
    }
    if (isClientEvent(name)) {
      throw new TypeError(`roomcast: "${name}" is an event of the client SDK and cannot be an application event`)
    }
  }
  const auth = definition.auth
  if (auth !== undefined && !KindGuard.IsSchema(auth)) throw new TypeError('roomcast: auth must be a TypeBox schema (Type.Object(...), say)')
  const toServer = definition.toServer
  const toClient = definition.toClient
  return {
    toServer,
    toClient,
    replies: definition.replies ?? ({} as R),
    auth: auth as A,
    authValidator: () => (auth === undefined ? undefined : validatorFor(auth)),
    toServerValidator: (event) => (Object.hasOwn(toServer, event) ? validatorFor(toServer[event]!) : undefined),
    toClientValidator: (event) => (Object.hasOwn(toClient, event) ? validatorFor(toClient[event]!) : undefined),
  }
}
