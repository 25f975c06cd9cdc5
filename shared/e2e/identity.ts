import { base64ToBytes, bytesToBase64, concatBytes } from './base64.js'

/**
 * The server's long-term identity for the key exchange. The exchange itself is anonymous
 * (ephemeral ECDH on both sides), so a middlebox that rewrites it can sit in the middle with
 * keys of its own. A server with an identity signs each handshake: ECDSA P-256 with SHA-256
 * over "roomcast-e2e/v1 identity" ‖ client public key ‖ client nonce ‖ server public key ‖
 * server nonce ‖ connection id (the keys 65 raw bytes, the nonces 16 bytes, the id in UTF-8,
 * last, so the fields cannot shift into each other). A client that pins the identity's public
 * key accepts only a handshake signed by it; the signature covers the client's own key and
 * nonce, so it cannot be moved to another handshake.
 */
const SIGNING: EcKeyImportParams = { name: 'ECDSA', namedCurve: 'P-256' }
const SIGNATURE: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' }
const LABEL = 'roomcast-e2e/v1 identity'

/** The public half of a handshake, as it travels (base64). */
export interface HandshakeSide {
  publicKey: string
  nonce: string
}

/** A new identity: the private key to give the server (JWK) and the public key to pin in clients (base64, raw P-256). */
export async function generateServerIdentity(): Promise<{ privateKey: JsonWebKey; publicKey: string }> {
  const keys = (await crypto.subtle.generateKey(SIGNING, true, ['sign', 'verify'])) as CryptoKeyPair
  return {
    privateKey: await crypto.subtle.exportKey('jwk', keys.privateKey),
    publicKey: bytesToBase64(new Uint8Array(await crypto.subtle.exportKey('raw', keys.publicKey))),
  }
}

/** Imports a server identity's private key (a JWK from `generateServerIdentity`). */
export async function importIdentitySigningKey(privateKey: JsonWebKey): Promise<CryptoKey> {
  return await crypto.subtle.importKey('jwk', privateKey, SIGNING, false, ['sign'])
}

/** Imports a pinned public key (base64 of the raw P-256 point). */
export async function importIdentityVerifyingKey(publicKey: string): Promise<CryptoKey> {
  return await crypto.subtle.importKey('raw', base64ToBytes(publicKey), SIGNING, false, ['verify'])
}

export async function signHandshake(key: CryptoKey, client: HandshakeSide, server: HandshakeSide, connectionId: string): Promise<string> {
  return bytesToBase64(new Uint8Array(await crypto.subtle.sign(SIGNATURE, key, transcript(client, server, connectionId))))
}

/** False for a missing, malformed or wrong signature; never throws. */
export async function verifyHandshake(
  key: CryptoKey,
  signature: string | undefined,
  client: HandshakeSide,
  server: HandshakeSide,
  connectionId: string,
): Promise<boolean> {
  if (signature === undefined) return false
  try {
    return await crypto.subtle.verify(SIGNATURE, key, base64ToBytes(signature), transcript(client, server, connectionId))
  } catch {
    return false
  }
}

function transcript(client: HandshakeSide, server: HandshakeSide, connectionId: string): Uint8Array<ArrayBuffer> {
  return concatBytes(
    new TextEncoder().encode(LABEL),
    base64ToBytes(client.publicKey),
    base64ToBytes(client.nonce),
    base64ToBytes(server.publicKey),
    base64ToBytes(server.nonce),
    new TextEncoder().encode(connectionId),
  )
}
