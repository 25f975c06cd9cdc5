import { request } from 'node:https'
import { join } from 'node:path'
import t from 'tap'
import WebSocket from 'ws'
import { APP } from '../helpers/pusher.js'
import { cleanEnv, configFile, ensureBuilt, startCli } from '../helpers/cli.js'
import { selfSignedCertificate } from '../helpers/tls.js'

/** TLS from certificate and key paths: the HTTP API and WebSockets over https/wss, with soketi's SOKETI_SSL_* names. */

t.before(ensureBuilt)

function getText(url: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { ca }, (response) => {
      let body = ''
      response.on('data', (chunk: Buffer) => (body += chunk.toString()))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }))
    })
      .on('error', reject)
      .end()
  })
}

t.test('tls.cert and tls.key (here from SOKETI_SSL_CERT and SOKETI_SSL_KEY): https and wss', async (t) => {
  const holder = configFile({ host: '127.0.0.1', port: 0, apps: [APP] })
  t.teardown(() => holder.remove())
  const dir = join(holder.path, '..')
  const { certPath: cert, keyPath: key, cert: ca } = selfSignedCertificate(dir)
  const { cli, url, port } = await startCli(['--config', holder.path], cleanEnv({ SOKETI_SSL_CERT: cert, SOKETI_SSL_KEY: key }))
  t.teardown(() => cli.kill())
  t.equal(url, `https://127.0.0.1:${port}`)
  t.same(await getText(`${url}/health/ready`, ca), { status: 200, body: '{"ready":true}' })

  const ws = new WebSocket(`wss://127.0.0.1:${port}/app/${APP.key}?protocol=7`, { ca })
  t.teardown(() => ws.terminate())
  const first = await new Promise<string>((resolve, reject) => {
    ws.once('message', (data: WebSocket.RawData) => resolve(data.toString()))
    ws.once('error', reject)
  })
  t.equal((JSON.parse(first) as { event: string }).event, 'pusher:connection_established', 'wss works')
  cli.child.kill('SIGTERM')
  t.same(await cli.exited, { code: 0, signal: null })
})

t.test('an unreadable certificate is a configuration error (exit 2) naming the key', async (t) => {
  const { CliProcess } = await import('../helpers/cli.js')
  const cli = new CliProcess(['start'], cleanEnv({ ROOMCAST_TLS_CERT: '/nonexistent/cert.pem', ROOMCAST_TLS_KEY: '/nonexistent/key.pem', ROOMCAST_PORT: '0' }))
  t.teardown(() => cli.kill())
  t.same(await cli.exited, { code: 2, signal: null })
  t.match(cli.stderr, /tls\.cert: cannot read \/nonexistent\/cert\.pem/)
})
