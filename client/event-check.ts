import { isClientEvent } from '../shared/client-events.js'
import { ErrorCode } from '../shared/codes.js'
import { RoomcastError } from '../shared/errors.js'
import type { EventsDefinition } from '../shared/events.js'
import { isSystemEvent } from '../shared/system-events.js'

/** How each direction words a refusal: the caller's mistake on the way out, the server's on the way in. */
const wording = {
  toServer: {
    reserved: (event: string) => new RoomcastError(ErrorCode.NotSent, `"${event}" is a protocol event; use the client's own methods`),
    unknown: (event: string) => `unknown event "${event}"`,
    invalid: (event: string) => `data of "${event}" does not match its schema`,
  },
  toClient: {
    reserved: (event: string) => new RoomcastError(ErrorCode.UnknownEvent, `the server sent "${event}", a reserved name; it was ignored`),
    unknown: (event: string) => `the server sent an unknown event "${event}"`,
    invalid: (event: string) => `the server sent "${event}" with data that does not match its schema`,
  },
} as const

export type Direction = keyof typeof wording

/**
 * Checks an application event on its way out (`toServer`) or in (`toClient`): a protocol or
 * client event name is always refused; with `events`, so is an unknown name or data that fails
 * its schema. Returns the refusal, or undefined when the event may pass.
 */
export function checkEvent(direction: Direction, events: EventsDefinition | undefined, event: string, data: unknown): RoomcastError | undefined {
  const words = wording[direction]
  if (isSystemEvent(event) || isClientEvent(event)) return words.reserved(event)
  if (events === undefined) return undefined
  const validator = direction === 'toServer' ? events.toServerValidator(event) : events.toClientValidator(event)
  if (validator === undefined) return new RoomcastError(ErrorCode.UnknownEvent, words.unknown(event))
  if (!validator.check(data)) return new RoomcastError(ErrorCode.InvalidData, words.invalid(event), validator.errors(data))
  return undefined
}

/**
 * Checks the credentials an `auth` option produced against the events' `auth` schema, when one
 * is declared: the refusal, or undefined when they may be sent.
 */
export function checkAuth(events: EventsDefinition | undefined, data: unknown): RoomcastError | undefined {
  const validator = events?.authValidator()
  if (validator === undefined || validator.check(data)) return undefined
  return new RoomcastError(ErrorCode.InvalidData, 'the auth data does not match the auth schema of the events', validator.errors(data))
}
