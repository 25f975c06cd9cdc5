import type { AnyEvents, EventsDefinition } from '../shared/events.js'

/**
 * What the application tells the compiler about itself, by declaration merging, so that
 * `app.roomcast`, the plugin's options and every handler are typed without generics or casts:
 *
 * ```ts
 * declare module 'roomcast' {
 *   interface RoomcastTypes {
 *     events: typeof events // the defineEvents map
 *     userId: string        // every native connection is authenticated as a user
 *   }
 * }
 * ```
 *
 * `userId` is a promise the compiler then holds the options to: `authenticate` and
 * `authenticateRequest` must return a `userId`, and one of them must be given, so that no
 * native connection is ever authenticated without a user. Event handlers, `authorizeJoin` and
 * `defaultRooms` then see `connection.userId` as that type. Leave it out when connections may
 * be anonymous (no authentication hook, or an identity without a `userId`).
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by the application's declaration merging
export interface RoomcastTypes {}

/** The events the application registered in `RoomcastTypes`, else any event with `unknown` data. */
export type RegisteredEvents = RoomcastTypes extends { events: infer E extends EventsDefinition } ? E : AnyEvents

/**
 * The type of `connection.userId` on the application's authenticated native connections: what
 * `RoomcastTypes` declares, else `string | undefined` (connections may be anonymous).
 */
export type RegisteredUserId = RoomcastTypes extends { userId: infer U extends string } ? U : string | undefined
