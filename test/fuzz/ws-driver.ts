/**
 * Sends one generated frame at a time on a socket and collects its answer: every frame that
 * arrives until the reply to a sentinel sent right after it (the server answers a socket's
 * frames in order), or the close. A closed socket is replaced by a fresh one.
 */
import WebSocket from 'ws'
import type { FrameCase } from './frames.js'

export interface Answer {
  /** Bytes of the frame as sent (signatures filled in). */
  bytes: number
  frames: string[]
  close?: number
  /** Neither the sentinel's reply nor a close arrived in time. */
  hung?: boolean
}

export interface Protocol {
  url(port: number): string
  /** The frame a fresh socket waits for before it is used. */
  isGreeting(text: string): boolean
  /** A frame whose reply marks the end of the previous frame's answer. */
  sentinel(n: number): string
  isSentinelReply(text: string, n: number): boolean
  /** Fills in what depends on the connection (signatures over its socket id), given its greeting. */
  prepare?(text: string, greeting: string): string
}

export class FuzzSocket {
  readonly #protocol: Protocol
  #ws: WebSocket | undefined
  #frames: string[] = []
  #close: number | undefined
  #notify: (() => void) | undefined
  #sentinel = 0
  #greeting = ''

  constructor(protocol: Protocol) {
    this.#protocol = protocol
  }

  async #open(port: number): Promise<void> {
    const ws = new WebSocket(this.#protocol.url(port))
    this.#ws = ws
    this.#frames = []
    this.#close = undefined
    ws.on('error', () => {})
    ws.on('message', (raw) => {
      this.#frames.push(raw.toString())
      this.#notify?.()
    })
    ws.on('close', (code) => {
      this.#close = code
      this.#notify?.()
    })
    await this.#until(() => this.#frames.some((text) => this.#protocol.isGreeting(text)) || this.#close !== undefined, 10_000)
    if (this.#close !== undefined) throw new Error(`the fuzz socket closed on opening with ${this.#close}`)
    this.#greeting = this.#frames.find((text) => this.#protocol.isGreeting(text))!
    this.#frames = []
  }

  #until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
    if (condition()) return Promise.resolve(true)
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#notify = undefined
        resolve(false)
      }, timeoutMs)
      this.#notify = () => {
        if (!condition()) return
        clearTimeout(timer)
        this.#notify = undefined
        resolve(true)
      }
    })
  }

  /** Sends `frame` and resolves with everything it caused. */
  async send(port: number, frame: FrameCase): Promise<Answer> {
    if (this.#ws === undefined || this.#close !== undefined) await this.#open(port)
    const ws = this.#ws!
    const n = ++this.#sentinel
    this.#frames = []
    let bytes: number
    switch (frame.kind) {
      case 'binary':
        ws.send(frame.bytes, { binary: true })
        bytes = frame.bytes.length
        break
      case 'invalid-utf8':
        ws.send(Buffer.from(frame.bytes), { binary: false })
        bytes = frame.bytes.length
        break
      default: {
        const text = this.#protocol.prepare === undefined ? frame.text : this.#protocol.prepare(frame.text, this.#greeting)
        ws.send(text)
        bytes = Buffer.byteLength(text)
      }
    }
    ws.send(this.#protocol.sentinel(n))
    const answered = await this.#until(() => this.#close !== undefined || this.#frames.some((text) => this.#protocol.isSentinelReply(text, n)), 10_000)
    const frames = this.#frames.filter((text) => !this.#protocol.isSentinelReply(text, n))
    const answer: Answer = { bytes, frames }
    if (this.#close !== undefined) answer.close = this.#close
    if (!answered) {
      answer.hung = true
      ws.terminate()
    }
    return answer
  }

  close(): void {
    this.#ws?.terminate()
  }
}

/** How an answer is judged: a label for the counts, and whether it is a documented answer to the frame. */
export type Judge = (frame: FrameCase, answer: Answer) => { label: string; ok: boolean }

/** The generated frame as text, for the report. */
export function describe(frame: FrameCase): string {
  return frame.kind === 'binary' || frame.kind === 'invalid-utf8'
    ? `${frame.kind} ${Buffer.from(frame.bytes).toString('hex')}`
    : `${frame.kind} ${JSON.stringify(frame.text)}`
}
