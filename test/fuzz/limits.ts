import type { PusherAppConfig } from '../../plugin/index.js'

/** The fuzz server's `maxPayload`: small, so frames on both sides of it are cheap to make. */
export const FUZZ_MAX_PAYLOAD = 4096
/** The fuzz server's HTTP API body limit. */
export const FUZZ_BODY_LIMIT = 8192
/** Client events on, no per-app rate limits. */
export const FUZZ_APP: PusherAppConfig = {
  id: 'fuzz-id',
  key: 'fuzz-key',
  secret: 'fuzz-secret',
  enableClientMessages: true,
  maxClientEventsPerSecond: -1,
  maxBackendEventsPerSecond: -1,
  maxReadRequestsPerSecond: -1,
}
