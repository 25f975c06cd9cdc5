/**
 * Native rooms and users share the hub's indexes with those of other protocols (Pusher's
 * channels and signed-in users) but never their names. Another protocol's names start with a
 * control character that native room names may not contain (`RoomName` refuses control
 * characters), so no native `join`, no server API call and no configuration can reach them by
 * naming them; the server API refuses them with a clear error instead of sending to nobody.
 */
import { ErrorCode } from '../../shared/codes.js'
import { RoomcastError } from '../../shared/errors.js'
import { InvalidArgumentError } from './errors.js'

const MARKER = '\u0000'

/** Where a protocol other than the native one keeps its room names and user ids. */
export function protocolNamespace(protocol: string): string {
  return MARKER + protocol + ':'
}

/** Whether a room name or user id belongs to another protocol's namespace. */
export function isProtocolName(name: string): boolean {
  return name.startsWith(MARKER)
}

/** A room name given to the native server API; another protocol's room is refused. */
export function nativeRoom(room: string): string {
  if (typeof room === 'string' && isProtocolName(room)) {
    throw new RoomcastError(
      ErrorCode.InvalidRoom,
      `${JSON.stringify(room)} is another protocol's room, not a native one (Pusher channels are reached through app.roomcast.pusher)`,
    )
  }
  return room
}

/** A user id given to the native server API; another protocol's user is refused. */
export function nativeUser(userId: string): string {
  if (typeof userId === 'string' && isProtocolName(userId)) {
    throw new InvalidArgumentError(
      `${JSON.stringify(userId)} is another protocol's user, not a native one (Pusher users are reached through app.roomcast.pusher.sendToUser)`,
    )
  }
  return userId
}

/** Room names given to the native server API, as a fresh list. */
export function nativeRooms(rooms: string | readonly string[]): string[] {
  return typeof rooms === 'string' ? [nativeRoom(rooms)] : rooms.map(nativeRoom)
}

/** User ids given to the native server API, as a fresh list. */
export function nativeUsers(userIds: string | readonly string[]): string[] {
  return typeof userIds === 'string' ? [nativeUser(userIds)] : userIds.map(nativeUser)
}
