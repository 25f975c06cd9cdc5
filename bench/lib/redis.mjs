// A throwaway redis-server on a free loopback port: no persistence, killed after the case.
import { spawn } from 'node:child_process'
import { createConnection, createServer } from 'node:net'
import { sleep } from './harness.mjs'

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

function ping(port) {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' })
    socket.once('error', () => resolve(false))
    socket.once('data', (data) => {
      socket.destroy()
      resolve(data.toString().startsWith('+PONG'))
    })
    socket.once('connect', () => socket.write('PING\r\n'))
  })
}

export async function startRedis(cores) {
  const port = await freePort()
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']
  const child =
    cores === undefined ? spawn('redis-server', args, { stdio: 'ignore' }) : spawn('taskset', ['-c', cores, 'redis-server', ...args], { stdio: 'ignore' })
  for (let i = 0; i < 100; i++) {
    if (await ping(port)) {
      return {
        port,
        pid: child.pid,
        stop: async () => {
          if (child.exitCode !== null) return
          const exited = new Promise((resolve) => child.once('exit', resolve))
          child.kill('SIGTERM')
          await exited
        },
      }
    }
    await sleep(50)
  }
  child.kill('SIGKILL')
  throw new Error('redis-server did not start')
}
