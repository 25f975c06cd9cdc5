/**
 * The client's life cycle. `connecting`: opening the socket (and running the transform
 * handshake). `authenticating`: the socket is open; credentials are sent and joined rooms are
 * restored. `connected`: usable. `reconnecting`: the connection was lost and the next attempt
 * waits for its backoff delay (or for the network). `closed`: stopped by `close()`.
 * `disconnected`: ended by the server or by exhausted retries, with the reason; the client
 * does not retry on its own. `connect()` restarts from either of the last two.
 */
export type ClientState = 'connecting' | 'authenticating' | 'connected' | 'reconnecting' | 'closed' | 'disconnected'

/** Every legal move. Anything else is a bug in the client and throws. */
const transitions: { readonly [S in ClientState]: readonly ClientState[] } = {
  connecting: ['authenticating', 'reconnecting', 'disconnected', 'closed'],
  authenticating: ['connected', 'reconnecting', 'disconnected', 'closed'],
  connected: ['reconnecting', 'disconnected', 'closed'],
  reconnecting: ['connecting', 'disconnected', 'closed'],
  closed: ['connecting'],
  disconnected: ['connecting'],
}

export function canTransition(from: ClientState, to: ClientState): boolean {
  return transitions[from].includes(to)
}

/** Holds the current state and enforces the transition table; reports every change. */
export class StateMachine {
  #state: ClientState
  readonly #onChange: (state: ClientState, previous: ClientState) => void

  constructor(initial: ClientState, onChange: (state: ClientState, previous: ClientState) => void) {
    this.#state = initial
    this.#onChange = onChange
  }

  get current(): ClientState {
    return this.#state
  }

  /** True when the client has ended (by `close()` or for good) and makes no attempt of its own. */
  get stopped(): boolean {
    return this.#state === 'closed' || this.#state === 'disconnected'
  }

  to(next: ClientState): void {
    const previous = this.#state
    if (!canTransition(previous, next)) {
      throw new Error(`roomcast client: illegal state transition ${previous} -> ${next}`)
    }
    this.#state = next
    this.#onChange(next, previous)
  }
}
