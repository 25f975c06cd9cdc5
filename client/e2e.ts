import { ErrorCode } from '../shared/codes.js'
import { E2E_QUERY_PARAMETER, E2E_VERSION, KeyExchange } from '../shared/e2e/handshake.js'
import { encryptedFrame } from '../shared/e2e/frame.js'
import { importIdentityVerifyingKey, verifyHandshake } from '../shared/e2e/identity.js'
import { SystemEvent } from '../shared/system-events.js'
import { RoomcastError } from '../shared/errors.js'
import type { ClientTransformFactory, FrameTransform } from './transform.js'

interface ReplyData {
  version: number
  publicKey: string
  nonce: string
  connectionId: string
  signature?: string
}

function isReply(data: unknown): data is ReplyData {
  if (typeof data !== 'object' || data === null) return false
  const reply = data as Record<string, unknown>
  return (
    reply.version === E2E_VERSION &&
    typeof reply.publicKey === 'string' &&
    typeof reply.nonce === 'string' &&
    typeof reply.connectionId === 'string' &&
    (reply.signature === undefined || typeof reply.signature === 'string')
  )
}

function failure(message: string): RoomcastError {
  return new RoomcastError(ErrorCode.EncryptionFailed, message)
}

/**
 * End-to-end encryption for `RoomcastClient` (`transform: endToEndEncryption()`): a fresh ECDH
 * P-256 key exchange with the server on every connection, then AES-256-GCM on every frame in
 * both directions (the scheme is described in shared/e2e). Handlers and `emit` see plaintext;
 * the socket never does. Uses WebCrypto (`globalThis.crypto.subtle`) only.
 */
export interface EndToEndOptions {
  /**
   * The server identity's public key (base64, from `generateServerIdentity()`). When given, a
   * key exchange not signed by it is refused (`encryption_failed`, not retried): a middlebox
   * that rewrites the handshake cannot sit in the middle. Without it the exchange is anonymous
   * and protects against passive observers only.
   */
  serverIdentity?: string
}

export function endToEndEncryption(options: EndToEndOptions = {}): ClientTransformFactory {
  // Imported once per client, checked at the first handshake.
  let pinned: Promise<CryptoKey> | undefined
  return {
    query: { [E2E_QUERY_PARAMETER]: '1' },
    async handshake(channel): Promise<FrameTransform> {
      const serverIdentity = options.serverIdentity
      const pin =
        serverIdentity === undefined
          ? undefined
          : await (pinned ??= importIdentityVerifyingKey(serverIdentity).catch(() => {
              throw failure('serverIdentity is not a base64 P-256 public key')
            }))
      const exchange = await KeyExchange.create('client')
      channel.send(JSON.stringify({ event: SystemEvent.KeyExchange, data: { version: E2E_VERSION, publicKey: exchange.publicKey, nonce: exchange.nonce } }))
      const frame = JSON.parse(await channel.receive()) as { event?: unknown; data?: unknown }
      if (frame.event === SystemEvent.Error) {
        const error = frame.data as { code?: string; message?: string } | undefined
        throw new RoomcastError(error?.code ?? ErrorCode.EncryptionFailed, error?.message ?? 'the server refused the key exchange')
      }
      if (frame.event === SystemEvent.Connected) throw failure('the server does not offer encryption')
      if (frame.event !== SystemEvent.KeyExchange || !isReply(frame.data)) throw failure('unexpected frame during the key exchange')
      const reply = frame.data
      if (pin !== undefined && !(await verifyHandshake(pin, reply.signature, exchange, reply, reply.connectionId))) {
        throw failure('the key exchange is not signed by the pinned server identity')
      }
      const secure = await exchange.complete(reply, reply.connectionId)
      return {
        encode: (text) =>
          new Promise<string>((resolve, reject) => {
            // Base64 needs no JSON escaping.
            secure.send(text, (sealed) => resolve(encryptedFrame(sealed))).catch(reject)
          }),
        decode: (text) => {
          const outer = JSON.parse(text) as { event?: unknown; data?: unknown }
          if (outer.event !== SystemEvent.Encrypted || typeof outer.data !== 'string') {
            throw failure('a plaintext frame arrived after the key exchange')
          }
          return secure.receive(outer.data)
        },
      }
    },
  }
}
