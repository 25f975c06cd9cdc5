// Processes for the bench: spawning pinned to a core, and reading CPU time and RSS from /proc.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { cpus } from 'node:os'

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

const PAGE_SIZE = (() => {
  try {
    return Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim()) || 4096
  } catch {
    return 4096
  }
})()

export const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

/** The server on core 0, the load generator on core 1 (and any further cores); no pinning on one core. */
export function corePlan() {
  const count = cpus().length
  if (!hasTaskset || count < 2) return { server: undefined, generator: undefined, cores: count }
  return { server: '0', generator: count === 2 ? '1' : `1-${count - 1}`, cores: count }
}

/** Fields of /proc/<pid>/stat after the command name (which may contain spaces). */
function statFields(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return text.slice(text.lastIndexOf(')') + 2).split(' ')
}

/** User + system CPU seconds the process (all its threads) has used so far. */
export function cpuSeconds(pid) {
  const fields = statFields(pid)
  // Field 14 (utime) and 15 (stime) of stat(5); the slice starts at field 3.
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
}

/** write-family system calls (write, writev, ...) the process has made so far (`syscw` of /proc/<pid>/io). */
export function writeCalls(pid) {
  try {
    return Number(/^syscw: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? NaN)
  } catch {
    return NaN
  }
}

/** CPU seconds all processes on the machine have used so far (busy time over every core, from /proc/stat). */
export function machineBusySeconds() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number)
  const [user, nice, system, , , irq, softirq, steal] = fields
  return (user + nice + system + irq + softirq + (steal ?? 0)) / CLOCK_TICKS
}

/** Resident set size in bytes. */
export function rssBytes(pid) {
  return Number(statFields(pid)[21]) * PAGE_SIZE
}

export function alive(pid) {
  return existsSync(`/proc/${pid}`)
}

/** Pins this process and all its threads to `cores`. */
export function pinSelf(cores) {
  if (cores === undefined) return
  execFileSync('taskset', ['-a', '-pc', cores, String(process.pid)], { stdio: 'ignore' })
}

/**
 * Starts `node <args>` pinned to `cores`, with an IPC channel. The shell raises the open-file
 * limit to the hard limit first, then execs, so the pid stays the node process's pid; a
 * `wrapper` command (valgrind) runs node in that same process.
 */
export function spawnNode(args, { cores, nodeFlags = [], env = {}, wrapper = [] } = {}) {
  const command = cores === undefined ? 'exec "$@"' : 'exec taskset -c "$CORES" "$@"'
  const child = spawn('sh', ['-c', `ulimit -n "$(ulimit -Hn)" 2>/dev/null; ${command}`, 'sh', ...wrapper, process.execPath, ...nodeFlags, ...args], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env, CORES: cores ?? '' },
  })
  return child
}

/** Resolves with the next IPC message of `type` (and `id`, when given) from a child. */
export function nextMessage(child, type, id, timeoutMs = 120_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`timed out waiting for "${type}" from pid ${child.pid}`))
    }, timeoutMs)
    const onMessage = (message) => {
      if (message.type === 'error') {
        cleanup()
        reject(new Error(`pid ${child.pid}: ${message.message}`))
      } else if (message.type === type && (id === undefined || message.id === id)) {
        cleanup()
        resolve(message)
      }
    }
    const onExit = (code) => {
      cleanup()
      reject(new Error(`pid ${child.pid} exited (${code}) while waiting for "${type}"`))
    }
    const cleanup = () => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
    }
    child.on('message', onMessage)
    child.on('exit', onExit)
  })
}

let nextId = 1

/** Sends a request and waits for the reply of the same type and id. */
export function request(child, message, timeoutMs) {
  const id = nextId++
  const reply = nextMessage(child, message.type, id, timeoutMs)
  child.send({ ...message, id })
  return reply
}

/** Stops a child and waits for it to exit. */
export async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  try {
    child.send({ type: 'stop' })
  } catch {
    child.kill('SIGKILL')
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
  await exited
  clearTimeout(timer)
}
