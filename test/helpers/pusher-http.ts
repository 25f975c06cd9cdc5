import { createHash, createHmac } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { PusherAppConfig } from '../../plugin/index.js'
import { APP } from './pusher.js'

/** One request a webhook receiver got: lower-case headers and the exact body text. */
export interface ReceivedWebhook {
  /** Path and query the request was sent to. */
  url: string
  headers: IncomingHttpHeaders
  rawBody: string
  body: { time_ms: number; events: Array<Record<string, unknown>> }
  /** Status the receiver answered with. */
  status: number
}

export interface WebhookReceiver {
  url: string
  /** Every request, answered ones included, in arrival order. */
  received: ReceivedWebhook[]
  /** Only the requests answered with 2xx. */
  accepted(): ReceivedWebhook[]
  /** Chooses each answer's status (default 200). */
  respond: (request: { index: number; rawBody: string }) => number | { status: number; headers?: Record<string, string> }
  /** Resolves when `count` requests have arrived in all. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedWebhook[]>
  close(): Promise<void>
}

/** A real HTTP server on 127.0.0.1 that records what webhooks POST to it. */
export async function webhookReceiver(): Promise<WebhookReceiver> {
  const waiters: Array<{ count: number; resolve: () => void }> = []
  const receiver: WebhookReceiver = {
    url: '',
    received: [],
    accepted: () => receiver.received.filter((request) => request.status >= 200 && request.status < 300),
    respond: () => 200,
    waitFor(count, timeoutMs = 5000) {
      if (receiver.received.length >= count) return Promise.resolve(receiver.received.slice(0, count))
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(new Error(`only ${receiver.received.length} of ${count} webhook requests arrived: ${JSON.stringify(receiver.received.map((r) => r.body))}`)),
          timeoutMs,
        )
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer)
            resolve(receiver.received.slice(0, count))
          },
        })
      })
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8')
      const answer = receiver.respond({ index: receiver.received.length, rawBody })
      const { status, headers } = typeof answer === 'number' ? { status: answer, headers: {} } : { headers: {}, ...answer }
      let body: ReceivedWebhook['body']
      try {
        body = JSON.parse(rawBody)
      } catch {
        body = { time_ms: 0, events: [] }
      }
      receiver.received.push({ url: request.url ?? '', headers: request.headers, rawBody, body, status })
      response.writeHead(status, headers).end('ok')
      for (const waiter of [...waiters]) {
        if (receiver.received.length >= waiter.count) {
          waiters.splice(waiters.indexOf(waiter), 1)
          waiter.resolve()
        }
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  receiver.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`
  return receiver
}

/** Every event of the requests so far, flattened, with the query of the URL each went to. */
export function eventsOf(receiver: WebhookReceiver, only?: (request: ReceivedWebhook) => boolean): Array<Record<string, unknown>> {
  return receiver.received.filter((request) => only === undefined || only(request)).flatMap((request) => request.body.events)
}

/** Pusher's request signature made by hand, so tests can get every part wrong on purpose. */
export function signedUrl(
  port: number,
  method: string,
  path: string,
  options: {
    body?: string
    app?: PusherAppConfig
    params?: Record<string, string>
    timestamp?: number
    /** Overrides applied after signing (or `undefined` to drop a parameter). */
    after?: Record<string, string | undefined>
    /** Path put in the URL when it differs from the signed one. */
    urlPath?: string
  } = {},
): string {
  const app = options.app ?? APP
  const params: Record<string, string> = {
    auth_key: app.key,
    auth_timestamp: String(options.timestamp ?? Math.floor(Date.now() / 1000)),
    auth_version: '1.0',
    ...options.params,
  }
  if (options.body !== undefined) params.body_md5 = createHash('md5').update(options.body).digest('hex')
  const query = Object.keys(params)
    .sort()
    .map((key) => `${key}=${params[key]}`)
    .join('&')
  params.auth_signature = createHmac('sha256', app.secret).update(`${method}\n${path}\n${query}`).digest('hex')
  for (const [key, value] of Object.entries(options.after ?? {})) {
    if (value === undefined) delete params[key]
    else params[key] = value
  }
  const url = new URL(`http://127.0.0.1:${port}${options.urlPath ?? path}`)
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value)
  return url.toString()
}

/** A signed request with fetch: status, parsed JSON body (or text) and headers. */
export async function signedFetch(
  port: number,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  options: Parameters<typeof signedUrl>[3] = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
  const url = signedUrl(port, method, path, { ...options, ...(text === undefined ? {} : { body: options.body ?? text }) })
  const response = await fetch(url, { method, body: text, headers: text === undefined ? {} : { 'content-type': 'application/json' } })
  return { status: response.status, body: await parse(response), headers: response.headers }
}

export async function parse(response: Response): Promise<any> {
  const text = await response.text()
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** What the SDK's promise rejected with: `RequestError { status, body }`. */
export async function sdkError(promise: Promise<unknown>): Promise<{ status: number; body: unknown }> {
  try {
    await promise
  } catch (err) {
    const { status, body } = err as { status: number; body: string }
    return { status, body: JSON.parse(body) }
  }
  throw new Error('the SDK call succeeded')
}
