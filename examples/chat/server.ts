import { buildChatApp } from './app.js'

const port = Number(process.env.PORT ?? 3000)
const host = process.env.HOST ?? '127.0.0.1'

const app = await buildChatApp({ logger: { level: process.env.LOG_LEVEL ?? 'info' } })
const address = await app.listen({ port, host })
app.log.info(`roomcast chat example listening on ${address} (WebSocket at ${address.replace(/^http/, 'ws')}/ws)`)
// A plain line for people, next to the JSON log lines for machines.
process.stdout.write(`\nroomcast chat: open ${address} in two browser windows\n\n`)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  })
}
