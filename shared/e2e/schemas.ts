import { Type, type Static } from '@sinclair/typebox'
import { ENCRYPTION_VERSION } from './handshake.js'

/** Wire shapes of the key exchange (see handshake.ts), for the server's validation. */
export const KeyExchangeHello = Type.Object(
  {
    version: Type.Literal(ENCRYPTION_VERSION),
    publicKey: Type.String({ minLength: 80, maxLength: 100 }),
    nonce: Type.String({ minLength: 20, maxLength: 30 }),
  },
  { additionalProperties: false },
)
export type KeyExchangeHello = Static<typeof KeyExchangeHello>

export const KeyExchangeReply = Type.Object(
  {
    version: Type.Literal(ENCRYPTION_VERSION),
    publicKey: Type.String({ minLength: 80, maxLength: 100 }),
    nonce: Type.String({ minLength: 20, maxLength: 30 }),
    connectionId: Type.String({ minLength: 1, maxLength: 200 }),
    /** With a server identity: its signature of the handshake (see identity.ts). */
    signature: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
)
export type KeyExchangeReply = Static<typeof KeyExchangeReply>
