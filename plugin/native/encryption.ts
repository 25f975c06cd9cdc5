import { CloseCode } from '../../shared/codes.js'
import {
  ENCRYPTION_VERSION,
  encryptedFrame,
  KeyExchange,
  KeyExchangeHello,
  signHandshake,
  type KeyExchangeReply,
  type SecureChannel,
} from '../../shared/e2e/index.js'
import { SystemEvent } from '../../shared/envelope.js'
import type { EventsDefinition } from '../../shared/events.js'
import { validatorFor } from '../../shared/validator.js'
import type { Connection } from '../hub/connection.js'
import { PreparedFrame } from '../hub/frame.js'
import { nativeFrame } from './codec.js'
import type { EncryptionQueue } from './encryption-queue.js'

const helloValidator = validatorFor(KeyExchangeHello)

/** What every encrypted connection of a route shares. */
export interface EncryptionSetup {
  /** Paces the per-socket encryption of fan-outs. */
  queue: EncryptionQueue
  /** Signs each key exchange when the server has an identity (`encryptionIdentity`). */
  identity: CryptoKey | undefined
}

/** Whether a connection may, must or must not encrypt its traffic. */
export type EncryptionMode = 'off' | 'optional' | 'required'

export function isKeyExchangeHello(data: unknown): data is KeyExchangeHello {
  return helloValidator.check(data)
}

/**
 * One connection's client-to-server encryption (the handshake is specified in shared/e2e). Once
 * established, every frame for the connection (direct sends, room fan-out, acks, errors,
 * heartbeats) passes through the connection's outbound transform and leaves as an `encrypted`
 * frame; the socket never carries plaintext again.
 */
export class ConnectionEncryption<E extends EventsDefinition> {
  readonly #connection: Connection<E>
  readonly #queue: EncryptionQueue
  readonly #identity: CryptoKey | undefined
  #channel: SecureChannel | undefined
  /** Characters of frames accepted for this connection and not yet sealed and written. */
  #pendingBytes = 0

  constructor(connection: Connection<E>, setup: EncryptionSetup) {
    this.#connection = connection
    this.#queue = setup.queue
    this.#identity = setup.identity
  }

  get established(): boolean {
    return this.#channel !== undefined
  }

  /**
   * Answers the client's hello with this connection's fresh key pair and switches the
   * connection to encrypted output. The reply itself is the last plaintext frame.
   */
  async accept(hello: KeyExchangeHello, id: number | undefined): Promise<void> {
    const exchange = await KeyExchange.create('server')
    const connection = this.#connection
    const channel = await exchange.complete(hello, connection.id)
    const signature = this.#identity === undefined ? undefined : await signHandshake(this.#identity, hello, exchange, connection.id)
    if (connection.state === 'closing' || connection.state === 'closed') return
    const reply: KeyExchangeReply = { version: ENCRYPTION_VERSION, publicKey: exchange.publicKey, nonce: exchange.nonce, connectionId: connection.id }
    if (signature !== undefined) reply.signature = signature
    connection.sink.write(new PreparedFrame(nativeFrame(SystemEvent.KeyExchange, JSON.stringify(reply), id === undefined ? undefined : { id })))
    this.#channel = channel
    const sink = connection.sink
    connection.outbound = (text, frame) => {
      // Backpressure is decided before a frame takes its counter: dropping a sealed frame would
      // leave a gap the client must treat as an attack. Frames still waiting for encryption
      // count as buffered, so a slow reader cannot pile up an unbounded queue here either.
      if (!sink.admit(this.#pendingBytes, frame)) return false
      this.#pendingBytes += text.length
      this.#queue.push(() => {
        channel
          .send(text, (sealed) => {
            this.#pendingBytes -= text.length
            sink.writeAdmitted(new PreparedFrame(encryptedFrame(sealed)))
          })
          .catch(() => connection.close(CloseCode.InternalError, 'encryption failed'))
      })
      return true
    }
  }

  /** Resolves once every frame queued for this connection so far is on the socket. */
  drained(): Promise<void> {
    const channel = this.#channel
    if (channel === undefined) return Promise.resolve()
    return new Promise((resolve) => this.#queue.push(() => void channel.idle().then(resolve)))
  }

  /** Decrypts one `encrypted` frame's data; rejects with an EncryptionError when it must be refused. */
  open(sealed: string): Promise<string> {
    return this.#channel!.receive(sealed)
  }
}
