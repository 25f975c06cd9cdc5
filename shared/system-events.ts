// No imports: the client and its browser bundle use these names without pulling in TypeBox.

/** Names of the events the protocol itself uses; application events may not reuse them. */
export const SystemEvent = {
  Authenticate: 'authenticate',
  Connected: 'connected',
  Join: 'join',
  Leave: 'leave',
  Heartbeat: 'heartbeat',
  Ack: 'ack',
  Error: 'error',
  Presence: 'presence',
  Membership: 'membership',
  Dropped: 'dropped',
  History: 'history',
  KeyExchange: 'key-exchange',
  Encrypted: 'encrypted',
} as const
export type SystemEvent = (typeof SystemEvent)[keyof typeof SystemEvent]

const systemEventNames: ReadonlySet<string> = new Set(Object.values(SystemEvent))
export function isSystemEvent(name: string): boolean {
  return systemEventNames.has(name)
}
