import { execFileSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Page } from 'playwright-core'
import t, { type Test } from 'tap'
import { chromiumAvailable, launchChromium } from '../helpers/browser.js'
import roomcast, { type UpgradeRefusalMode } from '../../plugin/index.js'

const root = fileURLToPath(new URL('../../', import.meta.url))

/** What a page saw of one client: its states, its reconnect attempts, and how it ended. */
interface Outcome {
  states: string[]
  reconnecting: number
  ready: { name: string; code: string; message: string; status?: number }
  disconnected: { code: number; reason: string; status?: number; error: string }
}

/** A server whose `authenticateRequest` lets `?token=good` in and refuses anything else with 403; it counts upgrades. */
async function startServer(t: Test, mode: UpgradeRefusalMode): Promise<{ app: FastifyInstance; url: string; upgrades: () => number }> {
  const bundle = await readFile(new URL('../../dist/browser/roomcast-client.js', import.meta.url), 'utf8')
  const app = Fastify({ logger: false })
  await app.register(roomcast, {
    refuseUpgradeWith: mode,
    authenticateRequest: (request) =>
      (request.query as { token?: string }).token === 'good' ? { userId: 'good' } : { refuse: true, statusCode: 403, message: 'banned' },
  })
  app.roomcast.on('echo', (_connection, data) => data)
  app.get('/roomcast-client.js', (_request, reply) => reply.type('text/javascript').send(bundle))
  app.get('/', (_request, reply) => reply.type('text/html').send('<!doctype html><title>refusal</title>'))
  let upgrades = 0
  app.server.on('upgrade', () => upgrades++)
  t.teardown(() => app.close())
  return { app, url: await app.listen({ port: 0, host: '127.0.0.1' }), upgrades: () => upgrades }
}

/** Runs a refused client in the page until it ends, and reports what it saw. */
function refusedClient(page: Page, maxAttempts: number): Promise<Outcome> {
  return page.evaluate(async (maxAttempts) => {
    const { RoomcastClient } = await import('/roomcast-client.js' as string)
    const client = new RoomcastClient('/ws?token=bad', { autoConnect: false, reconnect: { minDelay: 10, maxDelay: 40, maxAttempts } })
    const states: string[] = []
    let reconnecting = 0
    client.on('state', ({ state }: { state: string }) => states.push(state))
    client.on('reconnecting', () => reconnecting++)
    const disconnected = new Promise<Outcome['disconnected']>((resolve) =>
      client.on('disconnected', (info: { code: number; reason: string; status?: number; error: { code: string } }) =>
        resolve({ code: info.code, reason: info.reason, status: info.status, error: info.error.code }),
      ),
    )
    client.connect()
    const ready = await client.ready().then(
      () => ({ name: 'none', code: 'connected', message: '' }),
      (error: { name: string; code: string; message: string; status?: number }) => ({
        name: error.name,
        code: error.code,
        message: error.message,
        status: error.status,
      }),
    )
    return { states, reconnecting, ready, disconnected: await disconnected }
  }, maxAttempts)
}

/** A good client's round trip from the same page, after the refused one ended. */
function goodRoundTrip(page: Page): Promise<unknown> {
  return page.evaluate(async () => {
    const { RoomcastClient } = await import('/roomcast-client.js' as string)
    const client = new RoomcastClient('/ws?token=good')
    try {
      return await client.request('echo', { text: 'after' })
    } finally {
      client.close()
    }
  })
}

if (chromiumAvailable()) {
  // The page imports the browser bundle: build it from the current sources.
  execFileSync('npm', ['run', '--silent', 'build:browser'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] })

  t.test('Chromium pages', async (t) => {
    const browser = await launchChromium()
    t.teardown(() => browser.close())

    t.test("refuseUpgradeWith 'close': the browser client ends with the refusal and its status, and never tries again", async (t) => {
      const { url, upgrades } = await startServer(t, 'close')
      const page = await browser.newPage()
      t.teardown(() => page.close())
      await page.goto(url)
      const outcome = await refusedClient(page, Infinity)
      t.same(outcome.ready, { name: 'AuthRefusedError', code: 'auth_refused', message: 'banned', status: 403 })
      t.same(outcome.disconnected, { code: 4003, reason: 'auth_refused:403 banned', status: 403, error: 'auth_refused' })
      t.same(outcome.states, ['connecting', 'authenticating', 'disconnected'])
      t.equal(outcome.reconnecting, 0)
      t.same(await goodRoundTrip(page), { text: 'after' })
      t.equal(upgrades(), 2, 'one upgrade for the refused client, one for the good one: no retry in between')
    })

    t.test("refuseUpgradeWith 'http': a browser sees only 1006, so the client retries until maxAttempts", async (t) => {
      const { url, upgrades } = await startServer(t, 'http')
      const page = await browser.newPage()
      t.teardown(() => page.close())
      await page.goto(url)
      const outcome = await refusedClient(page, 2)
      t.match(outcome.ready, { code: 'disconnected', message: /gave up after 2 failed attempts/ })
      t.match(outcome.disconnected, { code: 1006, error: 'disconnected' })
      t.equal(outcome.disconnected.status, undefined, 'the browser cannot know the status')
      t.equal(outcome.reconnecting, 2)
      t.equal(upgrades(), 3, 'the first attempt and two retries')
    })
  })
}
