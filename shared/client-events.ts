/**
 * Names of the events the client SDK raises itself (`client.on('state', …)`), next to the
 * protocol events it re-emits (`connected`, `error`, `presence`). They share one emitter with
 * the application's events, so `defineEvents` refuses them as application event names too.
 * This file has no imports so the browser bundle of the client stays free of TypeBox.
 */
export const ClientEvent = {
  State: 'state',
  Reconnecting: 'reconnecting',
  Disconnected: 'disconnected',
  Closed: 'closed',
  Recovery: 'recovery',
} as const
export type ClientEvent = (typeof ClientEvent)[keyof typeof ClientEvent]

const clientEventNames: ReadonlySet<string> = new Set(Object.values(ClientEvent))
export function isClientEvent(name: string): boolean {
  return clientEventNames.has(name)
}
