// Drives a fan-out: one publisher sends to a room whose subscribers sit in the generator's
// workers. A message is complete when every worker holding subscribers has seen it on all of
// its sockets; the driver knows first and last receipt times of each message.
import { benchMessage } from '../load/protocols.mjs'
import { sleep } from './harness.mjs'

/** 64 characters of text: a chat-sized message (about 100 bytes of JSON with seq and t). */
export const TEXT = 'The quick brown fox jumps over the lazy dog while roomcast counts'.slice(0, 64)

export class FanoutDriver {
  /**
   * @param generator the Generator holding the subscribers
   * @param publisher from openPublisher
   * @param room the subscribers' room
   * @param activeWorkers how many workers hold subscribers
   */
  constructor(generator, publisher, room, activeWorkers) {
    this.generator = generator
    this.publisher = publisher
    this.room = room
    this.activeWorkers = activeWorkers
    this.seq = 0
    this.outstanding = 0
    /** seq → { reports, sent, first, last } */
    this.partial = new Map()
    this.completed = []
    this.lastProgress = Date.now()
    this.onComplete = undefined
    this.unsubscribe = generator.onDone((_worker, batch) => this.#onBatch(batch))
  }

  #onBatch(batch) {
    this.lastProgress = Date.now()
    for (const [seq, sent, first, last] of batch) {
      let entry = this.partial.get(seq)
      if (entry === undefined) {
        entry = { seq, reports: 0, sent, first, last }
        this.partial.set(seq, entry)
      } else {
        entry.first = Math.min(entry.first, first)
        entry.last = Math.max(entry.last, last)
      }
      if (++entry.reports === this.activeWorkers) {
        this.partial.delete(seq)
        this.outstanding--
        this.completed.push(entry)
        this.onComplete?.(entry)
      }
    }
  }

  publish() {
    this.outstanding++
    this.publisher.send(this.room, benchMessage(++this.seq, TEXT))
  }

  /** Resolves when nothing is outstanding; rejects when nothing completes for `stallMs`. */
  async settle(stallMs = 15_000) {
    this.lastProgress = Date.now()
    while (this.outstanding > 0) {
      if (Date.now() - this.lastProgress > stallMs) {
        throw new Error(`fan-out stalled: ${this.outstanding} messages never reached every subscriber`)
      }
      await sleep(20)
    }
  }

  /**
   * Closed loop: `window` messages in flight, a new one as soon as one completes, so the server
   * always has work queued. Measures over `measureMs` after `warmupMs`; `snapshot()` reads the
   * counters and CPU times at both ends.
   */
  async saturate({ window, warmupMs, measureMs, snapshot, stallMs = 15_000 }) {
    let running = true
    this.onComplete = () => {
      if (running) this.publish()
    }
    for (let i = 0; i < window; i++) this.publish()
    const watchdog = setInterval(() => {
      if (Date.now() - this.lastProgress > stallMs) running = false
    }, 250)
    try {
      await sleep(warmupMs)
      const before = await snapshot()
      await sleep(measureMs)
      const after = await snapshot()
      running = false
      await this.settle(stallMs)
      return { before, after }
    } finally {
      running = false
      clearInterval(watchdog)
      this.onComplete = undefined
    }
  }

  /** Open loop: `rate` messages per second; returns the completed messages sent after `warmupMs`. */
  async fixedRate({ rate, warmupMs, measureMs }) {
    const interval = 1000 / rate
    const total = Math.round(((warmupMs + measureMs) / 1000) * rate)
    const warmupCount = Math.round((warmupMs / 1000) * rate)
    const start = performance.now()
    for (let i = 0; i < total; i++) {
      // Scheduled against the start time so that timer drift does not lower the rate.
      const due = start + i * interval - performance.now()
      if (due > 0) await sleep(due)
      this.publish()
    }
    await this.settle()
    return this.completed.filter((entry) => entry.seq > warmupCount)
  }

  close() {
    this.unsubscribe()
  }
}
