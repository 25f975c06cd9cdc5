import { buildChatApp } from './app.js'

const port = Number(process.env.PORT ?? 3000)
const host = process.env.HOST ?? '127.0.0.1'

const app = await buildChatApp({ logger: { level: process.env.LOG_LEVEL ?? 'info' } })

// Graceful shutdown: `app.close()` refuses new upgrades and closes every socket with 1001, which
// clients reconnect from; without it a stop (Ctrl-C, `docker stop`, systemd) cuts them with 1006.
// Set up before listening, so a stop during startup is graceful too.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app.log.info(`roomcast chat: ${signal}, closing`)
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        app.log.error({ err }, 'roomcast chat: closing failed')
        process.exit(1)
      },
    )
  })
}

const address = await app.listen({ port, host })
app.log.info(`roomcast chat example listening on ${address} (WebSocket at ${address.replace(/^http/, 'ws')}/ws)`)
// A plain line for people, next to the JSON log lines for machines.
process.stdout.write(`\nroomcast chat: open ${address} in two browser windows\n\n`)
