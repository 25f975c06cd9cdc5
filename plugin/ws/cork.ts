import type { Socket } from 'node:net'

/** Sockets corked in this event-loop turn. */
const corked = new Set<Socket>()

function uncorkAll(): void {
  for (const socket of corked) socket.uncork()
  corked.clear()
}

/**
 * Coalesces the writes a socket gets within one event-loop turn: the first write corks it and
 * one `process.nextTick` uncorks every corked socket, so a burst of messages to one socket
 * leaves as a single `writev` instead of one syscall per frame.
 */
export function corkUntilNextTick(socket: Socket): void {
  if (corked.has(socket)) return
  if (corked.size === 0) process.nextTick(uncorkAll)
  socket.cork()
  corked.add(socket)
}
