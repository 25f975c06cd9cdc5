import { base64ToBytes, bytesToBase64 } from './base64.js'

/** Why an incoming encrypted frame was rejected. */
export type EncryptionFailure = 'malformed' | 'replayed' | 'out_of_order' | 'tampered'
/** @deprecated Renamed `EncryptionFailure`. */
export type E2EFailure = EncryptionFailure

/** An incoming encrypted frame was refused; `reason` says why. */
export class EncryptionError extends Error {
  readonly reason: EncryptionFailure
  constructor(reason: EncryptionFailure, message: string) {
    super(message)
    this.name = 'EncryptionError'
    this.reason = reason
  }
}
/** @deprecated Renamed `EncryptionError` (the same class); the encryption ends at the server, not at the other clients. */
export const E2EError = EncryptionError
/** @deprecated Renamed `EncryptionError`. */
export type E2EError = EncryptionError

const COUNTER_BYTES = 8
const TAG_BYTES = 16

/**
 * An established encrypted channel: one AES-256-GCM key per direction.
 *
 * Nonces are 96 bits: four zero bytes and a 64-bit big-endian counter that starts at 0 and
 * grows by one per frame in that direction (keys are per connection and per direction, so a
 * counter never repeats under one key). The counter travels in clear in front of the
 * ciphertext; a receiver accepts only the next expected value, which rejects replayed,
 * reordered and dropped frames. Wire form of a frame's data: base64(counter ‖ ciphertext ‖ tag).
 */
export class SecureChannel {
  readonly #sendKey: CryptoKey
  readonly #receiveKey: CryptoKey
  #sendCounter = 0
  #receiveCounter = 0
  #sendTail: Promise<unknown> = Promise.resolve()
  #receiveTail: Promise<unknown> = Promise.resolve()

  constructor(sendKey: CryptoKey, receiveKey: CryptoKey) {
    this.#sendKey = sendKey
    this.#receiveKey = receiveKey
  }

  /**
   * Encrypts `plaintext` and passes the sealed data to `write`. The counter is taken now, and
   * writes happen in call order even though encryption is asynchronous.
   */
  send(plaintext: string, write: (sealed: string) => void): Promise<void> {
    const counter = this.#sendCounter++
    const sealed = this.#seal(plaintext, counter)
    // Its failure reaches the caller through `done`; until the frames ahead are written nothing
    // else listens to it, and an unheard rejection would take a Node process down.
    sealed.catch(() => undefined)
    const done = this.#sendTail.then(() => sealed).then(write)
    this.#sendTail = done.catch(() => undefined)
    return done
  }

  /** Resolves once every frame passed to `send` so far has been written. */
  idle(): Promise<void> {
    return this.#sendTail.then(() => undefined)
  }

  /**
   * Checks and decrypts one frame's data; resolves in arrival order. Rejects with an
   * `EncryptionError` on a malformed, replayed, reordered or tampered frame; after a rejection the
   * channel must be abandoned.
   */
  receive(sealed: string): Promise<string> {
    let bytes: Uint8Array<ArrayBuffer>
    try {
      bytes = base64ToBytes(sealed)
    } catch {
      return Promise.reject(new EncryptionError('malformed', 'the encrypted frame is not base64'))
    }
    if (bytes.length < COUNTER_BYTES + TAG_BYTES) {
      return Promise.reject(new EncryptionError('malformed', 'the encrypted frame is truncated'))
    }
    const counter = readCounter(bytes)
    const expected = this.#receiveCounter
    if (counter !== expected) {
      const reason: EncryptionFailure = counter < expected ? 'replayed' : 'out_of_order'
      return Promise.reject(new EncryptionError(reason, `frame counter ${counter}, expected ${expected}`))
    }
    this.#receiveCounter++
    const opened = crypto.subtle.decrypt({ name: 'AES-GCM', iv: nonceOf(counter) }, this.#receiveKey, bytes.subarray(COUNTER_BYTES)).then(
      (plain) => new TextDecoder('utf-8', { fatal: true }).decode(plain),
      () => {
        throw new EncryptionError('tampered', 'the encrypted frame failed authentication')
      },
    )
    // Frames are checked concurrently but answered in order: a later frame can fail before the
    // ones ahead of it finish, and its rejection must not count as unhandled meanwhile.
    opened.catch(() => undefined)
    const ordered = this.#receiveTail.then(() => opened)
    this.#receiveTail = ordered.catch(() => undefined)
    return ordered
  }

  async #seal(plaintext: string, counter: number): Promise<string> {
    const cipher = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonceOf(counter) }, this.#sendKey, new TextEncoder().encode(plaintext)))
    const out = new Uint8Array(COUNTER_BYTES + cipher.length)
    writeCounter(out, counter)
    out.set(cipher, COUNTER_BYTES)
    return bytesToBase64(out)
  }
}

function nonceOf(counter: number): Uint8Array<ArrayBuffer> {
  const nonce = new Uint8Array(12)
  writeCounter(nonce.subarray(4), counter)
  return nonce
}

function writeCounter(target: Uint8Array, counter: number): void {
  const view = new DataView(target.buffer, target.byteOffset, COUNTER_BYTES)
  view.setUint32(0, Math.floor(counter / 0x100000000))
  view.setUint32(4, counter >>> 0)
}

function readCounter(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, COUNTER_BYTES)
  return view.getUint32(0) * 0x100000000 + view.getUint32(4)
}
