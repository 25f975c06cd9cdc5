import { CloseCode } from '../../../shared/codes.js'
import { E2E_VERSION, KeyExchange, KeyExchangeHello, type SecureChannel } from '../../../shared/e2e/index.js'
import { SystemEvent } from '../../../shared/envelope.js'
import type { EventsDefinition } from '../../../shared/events.js'
import { validatorFor } from '../../../shared/validator.js'
import type { Connection } from '../../hub/connection.js'
import { PreparedFrame } from '../../transport/frame.js'
import { nativeFrame } from './codec.js'
import type { EncryptionQueue } from './encryption-queue.js'

const helloValidator = validatorFor(KeyExchangeHello)

/** Whether a connection may, must or must not encrypt its traffic. */
export type EncryptionMode = 'off' | 'optional' | 'required'

export function isKeyExchangeHello(data: unknown): data is KeyExchangeHello {
  return helloValidator.check(data)
}

/**
 * One connection's end-to-end encryption (the handshake is specified in shared/e2e). Once
 * established, every frame for the connection (direct sends, room fan-out, acks, errors,
 * heartbeats) passes through the connection's outbound transform and leaves as an `encrypted`
 * frame; the socket never carries plaintext again.
 */
export class ConnectionEncryption<E extends EventsDefinition> {
  readonly #connection: Connection<E>
  readonly #queue: EncryptionQueue
  #channel: SecureChannel | undefined

  constructor(connection: Connection<E>, queue: EncryptionQueue) {
    this.#connection = connection
    this.#queue = queue
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
    if (connection.state === 'closing' || connection.state === 'closed') return
    const reply = { version: E2E_VERSION, publicKey: exchange.publicKey, nonce: exchange.nonce, connectionId: connection.id }
    connection.writer.write(new PreparedFrame(nativeFrame(SystemEvent.KeyExchange, JSON.stringify(reply), id === undefined ? undefined : { id })))
    this.#channel = channel
    const writer = connection.writer
    const writeSealed = (sealed: string): void => {
      // Base64 needs no JSON escaping.
      writer.write(new PreparedFrame('{"event":"encrypted","data":"' + sealed + '"}'))
    }
    connection.outbound = (text) => {
      this.#queue.push(() => {
        channel.send(text, writeSealed).catch(() => connection.close(CloseCode.InternalError, 'encryption failed'))
      })
    }
  }

  /** Resolves once every frame queued for this connection so far is on the socket. */
  drained(): Promise<void> {
    const channel = this.#channel
    if (channel === undefined) return Promise.resolve()
    return new Promise((resolve) => this.#queue.push(() => void channel.idle().then(resolve)))
  }

  /** Decrypts one `encrypted` frame's data; rejects with an E2EError when it must be refused. */
  open(sealed: string): Promise<string> {
    return this.#channel!.receive(sealed)
  }
}
