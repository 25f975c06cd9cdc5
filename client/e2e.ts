import { ErrorCode } from '../shared/codes.js'
import { E2E_QUERY_PARAMETER, E2E_VERSION, KeyExchange } from '../shared/e2e/handshake.js'
import { SystemEvent } from '../shared/envelope.js'
import { RoomcastError } from '../shared/errors.js'
import type { ClientTransformFactory, FrameTransform } from './transform.js'

interface ReplyData {
  version: number
  publicKey: string
  nonce: string
  connectionId: string
}

function isReply(data: unknown): data is ReplyData {
  if (typeof data !== 'object' || data === null) return false
  const reply = data as Record<string, unknown>
  return (
    reply.version === E2E_VERSION &&
    typeof reply.publicKey === 'string' &&
    typeof reply.nonce === 'string' &&
    typeof reply.connectionId === 'string'
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
export function endToEndEncryption(): ClientTransformFactory {
  return {
    query: { [E2E_QUERY_PARAMETER]: '1' },
    async handshake(channel): Promise<FrameTransform> {
      const exchange = await KeyExchange.create('client')
      channel.send(JSON.stringify({ event: SystemEvent.KeyExchange, data: { version: E2E_VERSION, publicKey: exchange.publicKey, nonce: exchange.nonce } }))
      const frame = JSON.parse(await channel.receive()) as { event?: unknown; data?: unknown }
      if (frame.event === SystemEvent.Error) {
        const error = frame.data as { code?: string; message?: string } | undefined
        throw new RoomcastError(error?.code ?? ErrorCode.EncryptionFailed, error?.message ?? 'the server refused the key exchange')
      }
      if (frame.event === SystemEvent.Connected) throw failure('the server does not offer encryption')
      if (frame.event !== SystemEvent.KeyExchange || !isReply(frame.data)) throw failure('unexpected frame during the key exchange')
      const secure = await exchange.complete(frame.data, frame.data.connectionId)
      return {
        encode: (text) =>
          new Promise<string>((resolve, reject) => {
            // Base64 needs no JSON escaping.
            secure.send(text, (sealed) => resolve('{"event":"encrypted","data":"' + sealed + '"}')).catch(reject)
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
