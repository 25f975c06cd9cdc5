// Drives fan-outs: a publisher sends to a room whose subscribers sit in the generator's workers.
// A message is complete when every worker holding subscribers of its group has seen it on all
// of them; the driver then knows the first and last receipt time of the message. Several groups
// (one per server) can share a driver, so that their messages interleave in time.
import { benchMessage } from '../load/protocols.mjs'
import { sleep } from './harness.mjs'

/** 64 characters of text: a chat-sized message (about 100 bytes of JSON with seq and t). */
export const TEXT = 'The quick brown fox jumps over the lazy dog while roomcast counts'.slice(0, 64)

export class FanoutDriver {
  /**
   * @param generator the Generator holding the subscribers
   * @param groups group name → { publisher (from openPublisher), room, activeWorkers (workers holding subscribers of the group) }
   */
  constructor(generator, groups) {
    this.generator = generator
    this.groups = groups
    this.seq = 0
    this.outstanding = 0
    /** seq → group name, for messages not yet complete */
    this.groupOf = new Map()
    /** seq → { reports, sent, first, last } */
    this.partial = new Map()
    this.completed = []
    this.lastProgress = Date.now()
    this.onComplete = undefined
    this.unsubscribe = generator.onDone((_worker, batch) => this.#onBatch(batch))
  }

  /** A driver for one group. */
  static single(generator, publisher, room, activeWorkers) {
    return new FanoutDriver(generator, { default: { publisher, room, activeWorkers } })
  }

  #onBatch(batch) {
    this.lastProgress = Date.now()
    for (const [seq, sent, first, last] of batch) {
      const group = this.groupOf.get(seq)
      if (group === undefined) continue
      let entry = this.partial.get(seq)
      if (entry === undefined) {
        entry = { seq, group, reports: 0, sent, first, last }
        this.partial.set(seq, entry)
      } else {
        entry.first = Math.min(entry.first, first)
        entry.last = Math.max(entry.last, last)
      }
      if (++entry.reports === this.groups[group].activeWorkers) {
        this.partial.delete(seq)
        this.groupOf.delete(seq)
        this.outstanding--
        this.completed.push(entry)
        this.onComplete?.(entry)
      }
    }
  }

  publish(group = 'default') {
    const target = this.groups[group]
    const seq = ++this.seq
    this.outstanding++
    this.groupOf.set(seq, group)
    target.publisher.send(target.room, benchMessage(seq, TEXT))
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
   * Closed loop on one group: `window` messages in flight, a new one as soon as one completes,
   * so the server always has work queued. Measures over `measureMs` after `warmupMs`;
   * `snapshot()` reads the counters and CPU times at both ends.
   */
  async saturate({ window, warmupMs, measureMs, snapshot, group = 'default', stallMs = 15_000 }) {
    let running = true
    this.onComplete = () => {
      if (running) this.publish(group)
    }
    for (let i = 0; i < window; i++) this.publish(group)
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

  /**
   * One slice of a closed loop on one group: `window` messages in flight for `ms`, then no new
   * ones until those in flight have arrived. Resolves with how many messages the slice sent (all
   * of them complete), so CPU measured around the slice pays for exactly those messages.
   */
  async burst({ group, window, ms, stallMs = 15_000 }) {
    let running = true
    const first = this.seq
    this.onComplete = (entry) => {
      if (running && entry.group === group) this.publish(group)
    }
    for (let i = 0; i < window; i++) this.publish(group)
    try {
      await sleep(ms)
      running = false
      await this.settle(stallMs)
      return this.seq - first
    } finally {
      running = false
      this.onComplete = undefined
    }
  }

  /**
   * Open loop: `rate` messages per second for `measureMs` per group after `warmupMs` per group.
   * With several groups, time is cut into `sliceMs` slices that go to the groups in turn, so
   * that every group sees the same conditions (a shared machine's noise lands on all of them).
   * Returns the completed messages sent after the warm-up, each with its `group`.
   */
  async fixedRate({ rate, warmupMs, measureMs, sliceMs = 250 }) {
    const names = Object.keys(this.groups)
    const interval = 1000 / rate
    const perSlice = Math.max(1, Math.round((sliceMs / 1000) * rate))
    const warmupSlices = Math.ceil(warmupMs / sliceMs)
    const measureSlices = Math.ceil(measureMs / sliceMs)
    const measured = new Set()
    let due = performance.now()
    for (let slice = 0; slice < (warmupSlices + measureSlices) * names.length; slice++) {
      const group = names[slice % names.length]
      const counted = slice >= warmupSlices * names.length
      for (let i = 0; i < perSlice; i++) {
        // Scheduled against the start time so that timer drift does not lower the rate.
        const wait = due - performance.now()
        if (wait > 0) await sleep(wait)
        due += interval
        this.publish(group)
        if (counted) measured.add(this.seq)
      }
    }
    await this.settle()
    return this.completed.filter((entry) => measured.has(entry.seq))
  }

  close() {
    this.unsubscribe()
  }
}
