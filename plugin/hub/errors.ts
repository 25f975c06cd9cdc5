/**
 * Every error the server side of roomcast throws at the application (not at a client: clients get
 * the wire codes of `shared/`), each with a stable `code` so that an app can tell them apart
 * without reading messages: `err.code === 'ROOMCAST_UNKNOWN_OPTION'` or `err instanceof
 * UnknownOptionError`. The README lists them ("Errors at registration and from the server API").
 *
 * Each is made with @fastify/error, as Fastify's own are: the message is the format string filled
 * in with the arguments, `statusCode` is 500 (should one escape from a route). Like Node's own
 * coded errors (`TypeError [ERR_INVALID_ARG_TYPE]: ...`) each keeps the name of the error it
 * extends, so `TypeError`s from before the codes still are, and still read as such.
 * Lives in the hub layer, the lowest of plugin/, so that every layer can throw them.
 */
import createError, { type FastifyErrorConstructor } from '@fastify/error'

/** `createError`, with the `name` of `Base` instead of `FastifyError`. */
function coded<C extends string, A extends unknown[]>(code: C, message: string, Base: ErrorConstructor = Error): FastifyErrorConstructor<{ code: C }, A> {
  const Created = createError<C, A>(code, message, 500, Base)
  function Coded(...args: A) {
    const error = new Created(...args)
    error.name = Base.name
    // The stack's first line was written with the former name.
    if (error.stack !== undefined) error.stack = error.stack.replace(/^FastifyError/, `${Base.name} [${code}]`)
    return error
  }
  Coded.prototype = Created.prototype
  Object.defineProperty(Coded, Symbol.hasInstance, { value: (value: unknown) => value instanceof Created })
  return Coded as unknown as FastifyErrorConstructor<{ code: C }, A>
}

// Configuration: thrown while the plugin registers (or by redisAdapter(), new Emitter(), ...).

/** An option name that does not exist, with its path (`heartbeat.intervall`) and the closest valid name, if one is close. */
export const UnknownOptionError = coded<'ROOMCAST_UNKNOWN_OPTION', [message: string]>('ROOMCAST_UNKNOWN_OPTION', 'roomcast: %s', TypeError)

/** An option whose value has the wrong type or is out of range, or options that contradict each other; the message says what is accepted. */
export const InvalidOptionError = coded<'ROOMCAST_INVALID_OPTION', [message: string]>('ROOMCAST_INVALID_OPTION', 'roomcast: %s', TypeError)

/** The plugin was registered a second time on the same server. */
export const AlreadyRegisteredError = coded<'ROOMCAST_ALREADY_REGISTERED', []>(
  'ROOMCAST_ALREADY_REGISTERED',
  'roomcast: the plugin is already registered on this server. One registration serves every room and both protocols: ' +
    'set `path` for the native route and `pusher` (with `pusher.pathPrefix`) for the Pusher routes; ' +
    'a second, independent roomcast needs a Fastify instance (and port) of its own',
  TypeError,
)

/** The `history` option was given with an adapter that has no history store. */
export const HistoryUnsupportedError = coded<'ROOMCAST_HISTORY_UNSUPPORTED', []>(
  'ROOMCAST_HISTORY_UNSUPPORTED',
  'roomcast: the history option needs an adapter with a history store (the in-process and Redis adapters have one)',
  TypeError,
)

/** One adapter instance given to two plugin registrations (a factory makes one per registration). */
export const AdapterInUseError = coded<'ROOMCAST_ADAPTER_IN_USE', [adapter: string]>(
  'ROOMCAST_ADAPTER_IN_USE',
  'roomcast: a %s adapter serves one plugin registration; pass a factory to share options',
)

/** An adapter used before the plugin attached it (or after it was closed). */
export const AdapterNotAttachedError = coded<'ROOMCAST_ADAPTER_NOT_ATTACHED', [adapter: string]>(
  'ROOMCAST_ADAPTER_NOT_ATTACHED',
  'roomcast: the %s adapter is not attached',
)

// The server API: thrown by app.roomcast, the Emitter and their helpers when called wrongly.

/** `app.roomcast.on(event)` for an event that already has its handler (one per event, like a route). */
export const HandlerExistsError = coded<'ROOMCAST_HANDLER_EXISTS', [event: string]>(
  'ROOMCAST_HANDLER_EXISTS',
  'roomcast: a handler for "%s" is already registered',
)

/** `addHook` with a name that is not a hook. */
export const UnknownHookError = coded<'ROOMCAST_UNKNOWN_HOOK', [name: string]>('ROOMCAST_UNKNOWN_HOOK', 'roomcast: unknown hook "%s"', TypeError)

/** A server API call with an argument it cannot use (a user id of Pusher's namespace, a bad history query, a bad channel name, ...). */
export const InvalidArgumentError = coded<'ROOMCAST_INVALID_ARGUMENT', [message: string]>('ROOMCAST_INVALID_ARGUMENT', 'roomcast: %s', TypeError)

/** `app.roomcast.pusher` asked about an app id that no configured app (or lookup) has. */
export const UnknownPusherAppError = coded<'ROOMCAST_UNKNOWN_PUSHER_APP', [appId: string]>(
  'ROOMCAST_UNKNOWN_PUSHER_APP',
  'roomcast: no pusher app has the id %s',
  RangeError,
)

/** An application function answered with something unusable (`defaultRooms` not returning a list, a `history` function returning a bad policy). */
export const InvalidHookResultError = coded<'ROOMCAST_INVALID_HOOK_RESULT', [message: string]>('ROOMCAST_INVALID_HOOK_RESULT', 'roomcast: %s', TypeError)

/** `app.roomcast.pusher` was read, but the plugin was registered without the `pusher` option. */
export const PusherNotEnabledError = coded<'ROOMCAST_PUSHER_NOT_ENABLED', []>(
  'ROOMCAST_PUSHER_NOT_ENABLED',
  'roomcast: app.roomcast.pusher needs the pusher option: register roomcast with { pusher: { apps: [...] } } (app.roomcast.pusherEnabled tells)',
)

/** `metrics` is on, and prom-client (an optional peer dependency) could not be imported. */
export const PromClientMissingError = coded<'ROOMCAST_PROM_CLIENT_MISSING', [cause: string]>(
  'ROOMCAST_PROM_CLIENT_MISSING',
  'roomcast: the metrics option needs the prom-client package, which could not be loaded (%s); install it with `npm install prom-client`',
)
