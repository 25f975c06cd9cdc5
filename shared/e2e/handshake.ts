import { base64ToBytes, bytesToBase64, concatBytes } from './base64.js'
import { SecureChannel } from './secure-channel.js'

/**
 * Client-to-server encryption handshake, version 1. The encryption runs between each client
 * and the roomcast server (which decrypts), on top of TLS; the `roomcast-e2e` labels and the
 * `e2e` query parameter are the wire names of version 1 and stay as they are, so clients and
 * servers of every release agree.
 *
 * 1. The client sends `key-exchange` with a fresh ECDH P-256 public key (raw, uncompressed,
 *    base64) and 16 random bytes.
 * 2. The server answers `key-exchange` with its own key pair, fresh for this connection, 16
 *    random bytes of its own, and the connection's id; with an identity, also its signature of
 *    the handshake (identity.ts), which a client that pinned the identity checks.
 * 3. Both compute the ECDH secret and derive two AES-256-GCM keys with HKDF-SHA256:
 *    salt = client nonce ‖ server nonce; info = "roomcast-e2e/v1 c2s|s2c " ‖ connection id ‖
 *    client public key ‖ server public key. One key per direction, so each direction's nonce
 *    counter starts at zero without ever reusing a (key, nonce) pair.
 *
 * Binding: the server's key pair and nonce are new for every connection and the derivation
 * covers the connection id and both public keys, so a recorded handshake replayed into another
 * connection yields different keys and every frame of the recording fails to authenticate.
 */
export const ENCRYPTION_VERSION = 1
/** @deprecated Renamed `ENCRYPTION_VERSION`; the encryption ends at the server, not at the other clients. */
export const E2E_VERSION = ENCRYPTION_VERSION
/**
 * A client that will encrypt adds `e2e=1` to the WebSocket URL's query, so that a server in
 * `optional` mode holds everything (even `connected`) until the key exchange is done.
 */
export const ENCRYPTION_QUERY_PARAMETER = 'e2e'
/** @deprecated Renamed `ENCRYPTION_QUERY_PARAMETER`. */
export const E2E_QUERY_PARAMETER = ENCRYPTION_QUERY_PARAMETER
const NONCE_BYTES = 16
const CURVE: EcKeyImportParams = { name: 'ECDH', namedCurve: 'P-256' }

type Role = 'client' | 'server'

/** One side's half of a handshake: its ephemeral key pair and nonce. */
export class KeyExchange {
  readonly role: Role
  readonly #keys: CryptoKeyPair
  readonly publicKey: string
  readonly nonce: string

  private constructor(role: Role, keys: CryptoKeyPair, publicKey: string, nonce: string) {
    this.role = role
    this.#keys = keys
    this.publicKey = publicKey
    this.nonce = nonce
  }

  static async create(role: Role): Promise<KeyExchange> {
    const keys = (await crypto.subtle.generateKey(CURVE, false, ['deriveBits'])) as CryptoKeyPair
    const publicKey = bytesToBase64(new Uint8Array(await crypto.subtle.exportKey('raw', keys.publicKey)))
    const nonce = bytesToBase64(crypto.getRandomValues(new Uint8Array(NONCE_BYTES)))
    return new KeyExchange(role, keys, publicKey, nonce)
  }

  /** Derives the secure channel once the peer's public key and nonce are known. */
  async complete(peer: { publicKey: string; nonce: string }, connectionId: string): Promise<SecureChannel> {
    const peerKey = await crypto.subtle.importKey('raw', base64ToBytes(peer.publicKey), CURVE, false, [])
    const secret = await crypto.subtle.deriveBits({ name: 'ECDH', public: peerKey }, this.#keys.privateKey, 256)
    const ikm = await crypto.subtle.importKey('raw', secret, 'HKDF', false, ['deriveKey'])
    const [clientNonce, serverNonce] = this.role === 'client' ? [this.nonce, peer.nonce] : [peer.nonce, this.nonce]
    const [clientKey, serverKey] = this.role === 'client' ? [this.publicKey, peer.publicKey] : [peer.publicKey, this.publicKey]
    const salt = concatBytes(base64ToBytes(clientNonce), base64ToBytes(serverNonce))
    const context = concatBytes(new TextEncoder().encode(connectionId), base64ToBytes(clientKey), base64ToBytes(serverKey))
    const derive = (direction: 'c2s' | 's2c'): Promise<CryptoKey> =>
      crypto.subtle.deriveKey(
        { name: 'HKDF', hash: 'SHA-256', salt, info: concatBytes(new TextEncoder().encode(`roomcast-e2e/v1 ${direction} `), context) },
        ikm,
        { name: 'AES-GCM', length: 256 },
        false,
        ['encrypt', 'decrypt'],
      )
    const [c2s, s2c] = await Promise.all([derive('c2s'), derive('s2c')])
    return this.role === 'client' ? new SecureChannel(c2s, s2c) : new SecureChannel(s2c, c2s)
  }
}
