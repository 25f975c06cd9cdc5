import { ErrorCode } from '../shared/codes.js'
import { ENCRYPTION_QUERY_PARAMETER, ENCRYPTION_VERSION, KeyExchange } from '../shared/e2e/handshake.js'
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
    reply.version === ENCRYPTION_VERSION &&
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
 * Client-to-server encryption for `RoomcastClient` (`transform: clientEncryption()`): a fresh
 * ECDH P-256 key exchange with the server on every connection, then AES-256-GCM on every frame
 * in both directions (the scheme is described in shared/e2e). It protects frames between
 * this client and the roomcast server, on top of TLS, from whatever sits in between (proxies,
 * load balancers, CDNs that end TLS); the server decrypts every frame, so it is not end-to-end
 * between users. Handlers and `emit` see plaintext; the socket never does. Uses WebCrypto
 * (`globalThis.crypto.subtle`) only.
 */
export interface ClientEncryptionOptions {
  /**
   * The server identity's public key (base64, from `generateServerIdentity()`). When given, a
   * key exchange not signed by it is refused (`encryption_failed`, not retried): a middlebox
   * that rewrites the handshake cannot sit in the middle. Without it the exchange is anonymous
   * and protects against passive observers only.
   */
  serverIdentity?: string
}

/** @deprecated Renamed `ClientEncryptionOptions`. */
export type EndToEndOptions = ClientEncryptionOptions

export function clientEncryption(options: ClientEncryptionOptions = {}): ClientTransformFactory {
  // Imported once per client, checked at the first handshake.
  let pinned: Promise<CryptoKey> | undefined
  return {
    query: { [ENCRYPTION_QUERY_PARAMETER]: '1' },
    async handshake(channel): Promise<FrameTransform> {
      const serverIdentity = options.serverIdentity
      const pin =
        serverIdentity === undefined
          ? undefined
          : await (pinned ??= importIdentityVerifyingKey(serverIdentity).catch(() => {
              throw failure('serverIdentity is not a base64 P-256 public key')
            }))
      const exchange = await KeyExchange.create('client')
      channel.send(
        JSON.stringify({ event: SystemEvent.KeyExchange, data: { version: ENCRYPTION_VERSION, publicKey: exchange.publicKey, nonce: exchange.nonce } }),
      )
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

/**
 * @deprecated Renamed `clientEncryption()`, which it is: the encryption runs between this client
 * and the roomcast server, which reads every message, not end to end between users.
 */
export const endToEndEncryption: (options?: ClientEncryptionOptions) => ClientTransformFactory = clientEncryption
