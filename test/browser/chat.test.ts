import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import t from 'tap'
import { chromiumAvailable, launchChromium } from '../helpers/browser.js'
import { buildChatApp, ROOM_NAME } from '../../examples/chat/app.js'
import { CloseCode } from '../../shared/codes.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const screenshot = fileURLToPath(new URL('../../examples/chat/screenshot.png', import.meta.url))

/** Records a page's uncaught errors and its console errors and warnings, each prefixed with `name`. */
function watchConsole(page: Page, name: string, problems: string[]): void {
  page.on('pageerror', (error) => problems.push(`${name}: ${error.message}`))
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') {
      const { url } = message.location()
      problems.push(`${name}: console ${message.type()}: ${message.text()}${url ? ` (${url})` : ''}`)
    }
  })
}

if (chromiumAvailable()) {
  // The page imports the browser bundle: build it from the current sources.
  execFileSync('npm', ['run', '--silent', 'build:browser'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] })

  for (const variant of [
    { name: 'in plaintext', encryption: 'optional', query: '?encryption=off', encrypted: false },
    { name: 'encrypted to the server', encryption: 'required', query: '', encrypted: true },
  ] as const) {
    t.test(`the chat example in Chromium pages, ${variant.name}: messages, presence, a cut connection recovers`, async (t) => {
      const app = await buildChatApp({ logger: false }, { encryption: variant.encryption })
      t.teardown(() => app.close())
      const url = await app.listen({ port: 0, host: '127.0.0.1' })

      const browser: Browser = await launchChromium()
      t.teardown(() => browser.close())
      /** Uncaught errors, and console errors and warnings (failed loads and invalid markup included), of every page. */
      const pageErrors: string[] = []
      /** Every WebSocket frame either page sent or received, as the network saw it. */
      const wire: string[] = []

      async function open(name: string): Promise<Page> {
        const context = await browser.newContext({ viewport: { width: 1180, height: 620 }, deviceScaleFactor: 1 })
        const page = await context.newPage()
        watchConsole(page, name, pageErrors)
        page.on('websocket', (socket) => {
          socket.on('framesent', ({ payload }) => wire.push(String(payload)))
          socket.on('framereceived', ({ payload }) => wire.push(String(payload)))
        })
        await page.goto(url + variant.query)
        await page.fill('#name', name)
        await page.click('#login-form button[type=submit]')
        await page.waitForSelector('body[data-state="connected"]', { timeout: 10_000 })
        await page.waitForSelector('#room-list li[data-room="lobby"].active')
        return page
      }
      async function join(page: Page, room: string): Promise<void> {
        await page.fill('#room-name', room)
        await page.click('#join-form button[type=submit]')
        await page.waitForSelector(`#room-list li[data-room="${room}"].active`)
      }
      async function send(page: Page, text: string): Promise<void> {
        await page.fill('#text', text)
        await page.click('#send-form button[type=submit]')
      }
      function shows(page: Page, from: string, text: string): Promise<unknown> {
        return page.waitForFunction(
          ([from, text]) => [...document.querySelectorAll(`#messages .message[data-from="${from}"] .text`)].some((element) => element.textContent === text),
          [from, text] as const,
          { timeout: 10_000 },
        )
      }

      const ada = await open('Ada')
      const grace = await open('Grace')
      await join(ada, 'design')
      await join(grace, 'design')

      // Both see each other in the room.
      await ada.waitForSelector('#people li[data-user="Grace"]')
      await grace.waitForSelector('#people li[data-user="Ada"]')
      t.same(await ada.$$eval('#people li', (items) => items.map((item) => item.getAttribute('data-user'))), ['Ada', 'Grace'])

      await send(ada, 'Morning! Is the new palette ready?')
      await shows(grace, 'Ada', 'Morning! Is the new palette ready?')
      t.pass('a message from one page shows on the other')
      await send(grace, 'Almost, pushing it in five minutes.')
      await shows(ada, 'Grace', 'Almost, pushing it in five minutes.')

      // Cut Grace's connection from the server with a code that asks her to come back.
      await grace.evaluate(() => {
        const w = window as unknown as { states: string[]; roomcastChat: { client: { on(event: string, handler: (change: { state: string }) => void): void } } }
        w.states = []
        w.roomcastChat.client.on('state', (change) => w.states.push(change.state))
      })
      t.equal(await app.roomcast.users.disconnect('Grace', CloseCode.Draining, 'moving you to another node'), 1)
      await grace.waitForFunction(() => (window as unknown as { states: string[] }).states.at(-1) === 'connected', undefined, { timeout: 10_000 })
      t.same(await grace.evaluate(() => (window as unknown as { states: string[] }).states), ['reconnecting', 'connecting', 'authenticating', 'connected'])
      t.same(await grace.evaluate(() => (window as unknown as { roomcastChat: { client: { rooms: string[] } } }).roomcastChat.client.rooms.sort()), [
        'design',
        'lobby',
      ])
      t.equal(await app.roomcast.rooms.size('design'), 2, 'Grace is back in design on the server')
      await send(ada, 'Still there after the hiccup?')
      await shows(grace, 'Ada', 'Still there after the hiccup?')
      t.pass('the cut page recovered and receives again')

      // The browser's offline hint: wait while offline, reconnect as soon as the network is back.
      await grace.context().setOffline(true)
      await grace.waitForSelector('body[data-state="reconnecting"]', { timeout: 10_000 })
      t.equal(await grace.textContent('#status-text'), 'waiting for the network…')
      // Said while Grace is offline: the room's history hands it over when she is back.
      await send(ada, 'Ping me when you are back online.')
      await grace.context().setOffline(false)
      await grace.waitForSelector('body[data-state="connected"]', { timeout: 10_000 })
      await shows(grace, 'Ada', 'Ping me when you are back online.')
      t.pass('a message sent while the page was offline shows once it is back')
      await send(grace, 'Yes, all good. Palette is up!')
      await shows(ada, 'Grace', 'Yes, all good. Palette is up!')

      // A fresh room with a short exchange: switching rooms, and the picture for the README.
      await join(ada, 'launch')
      await join(grace, 'launch')
      await ada.waitForSelector('#people li[data-user="Grace"]')
      const exchange: Array<[Page, string, string]> = [
        [ada, 'Ada', 'Launch checklist: docs, changelog, the release notes.'],
        [grace, 'Grace', 'Docs are merged. The changelog is in review.'],
        [ada, 'Ada', 'Great. I will tag the release once CI is green.'],
        [grace, 'Grace', 'CI is green on main. Ship it!'],
      ]
      for (const [page, from, text] of exchange) {
        await send(page, text)
        await shows(page === ada ? grace : ada, from, text)
      }
      t.equal(await ada.locator('#messages .message').count(), 4)

      // A third page joins late: the room's recent messages are there, in order, not "No messages yet".
      const linus = await open('Linus')
      await join(linus, 'launch')
      for (const [, from, text] of exchange) await shows(linus, from, text)
      t.same(
        await linus.$$eval('#messages .message .text', (items) => items.map((item) => item.textContent)),
        exchange.map(([, , text]) => text),
        'the late joiner sees the earlier messages, each once, in order',
      )
      t.equal(await linus.locator('#messages .empty').count(), 0)
      await ada.click('#room-list li[data-room="design"] button')
      await ada.waitForSelector('#room-list li[data-room="design"].active')
      t.equal(await ada.textContent('#room-title'), '# design')
      await ada.click('#room-list li[data-room="launch"] button')

      t.same(pageErrors, [], 'no errors or warnings in any page, console included')

      const events = wire.map((frame) => (JSON.parse(frame) as { event: string }).event)
      const plaintext = wire.filter((frame) => !/"event":"(key-exchange|encrypted)"/.test(frame))
      if (variant.encrypted) {
        t.equal(await ada.textContent('#status-text'), 'connected · encrypted to the server')
        t.ok(events.filter((event) => event === 'key-exchange').length >= 6, 'a key exchange on every connection, both ways')
        t.same(plaintext, [], 'nothing but key exchanges and encrypted frames on the wire')
        t.notOk(wire.join('').includes('Ship it'), 'message text never on the wire')
      } else {
        t.equal(await ada.textContent('#status-text'), 'connected')
        t.ok(wire.join('').includes('Ship it'), 'the plaintext variant shows its messages on the wire')
      }

      if (!variant.encrypted && process.env.UPDATE_SCREENSHOT === '1') {
        await ada.waitForTimeout(300)
        await ada.screenshot({ path: screenshot })
        t.comment(`screenshot written to ${screenshot}`)
      }
    })
  }

  t.test('the chat example at 420 px wide: no sideways scrolling, the people panel opens, the room field checks names', async (t) => {
    const app = await buildChatApp({ logger: false })
    t.teardown(() => app.close())
    const url = await app.listen({ port: 0, host: '127.0.0.1' })
    const browser: Browser = await launchChromium()
    t.teardown(() => browser.close())
    const problems: string[] = []
    const context = await browser.newContext({ viewport: { width: 420, height: 800 }, deviceScaleFactor: 1 })
    const page = await context.newPage()
    watchConsole(page, 'Ada', problems)
    await page.goto(url)
    const fits = () => page.evaluate(() => document.documentElement.scrollWidth)
    t.ok((await fits()) <= 420, 'the sign-in page fits in 420 px')
    await page.fill('#name', 'Ada')
    await page.click('#login-form button[type=submit]')
    await page.waitForSelector('body[data-state="connected"]', { timeout: 10_000 })
    await page.waitForSelector('#room-list li[data-room="lobby"].active')
    t.ok((await fits()) <= 420, `the chat fits in 420 px (scrollWidth ${await fits()})`)

    // The people panel is out of the way until asked for, then reachable and listing the user.
    t.notOk(await page.isVisible('#people li[data-user="Ada"]'), 'the people panel starts closed on a narrow screen')
    t.equal(await page.getAttribute('#people-toggle', 'aria-expanded'), 'false')
    await page.click('#people-toggle')
    await page.waitForSelector('#people li[data-user="Ada"]', { state: 'visible' })
    t.equal(await page.getAttribute('#people-toggle', 'aria-expanded'), 'true')
    const box = await page.locator('.people').boundingBox()
    t.ok(box !== null && box.x >= 0 && box.x + box.width <= 420, `the open panel lies within the screen (${JSON.stringify(box)})`)
    t.ok((await fits()) <= 420, 'still no sideways scrolling with the panel open')
    await page.click('#people-close')
    await page.waitForSelector('#people li[data-user="Ada"]', { state: 'hidden' })
    t.equal(await page.getAttribute('#people-toggle', 'aria-expanded'), 'false', 'and it closes again')

    // The room field's pattern is the server's rule for room names, valid in Chromium's `v` mode.
    const names = ['design', 'launch-2', 'a', 'x'.repeat(32), 'Design', 'two words', 'x'.repeat(33), 'a_b', 'a(b)', 'a[b]', 'a|b', 'a/b', 'caf\u00e9', '-']
    for (const name of names) {
      const valid = await page.evaluate((value) => {
        const input = document.getElementById('room-name') as HTMLInputElement
        input.value = value
        return input.checkValidity()
      }, name)
      t.equal(valid, ROOM_NAME.test(name), `${JSON.stringify(name)}: the page says ${valid ? 'valid' : 'invalid'}, like the server`)
    }
    await page.fill('#room-name', 'news')
    await page.click('#join-form button[type=submit]')
    await page.waitForSelector('#room-list li[data-room="news"].active')
    t.pass('a valid name joins the room')
    t.ok((await fits()) <= 420, 'no sideways scrolling after joining a room')

    t.same(problems, [], 'no errors or warnings in the page, console included')
  })
}
