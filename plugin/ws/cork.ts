import type { Socket } from 'node:net'

/** Sockets corked in this event-loop turn. */
const corked = new Set<Socket>()

function uncorkAll(): void {
  for (const socket of corked) socket.uncork()
  corked.clear()
}

/**
 * Writes bytes to a socket, coalescing the writes it gets within one event-loop turn: the first
 * write corks it and one `setImmediate` uncorks every corked socket once the turn's I/O
 * callbacks have run, so a burst of messages to one socket leaves as a single `writev` instead
 * of one syscall per frame.
 *
 * The turn, not the tick: messages published by separate I/O callbacks (one HTTP request each,
 * as the Pusher HTTP API gets them, or frames from several publishing sockets) land in
 * different ticks of the same turn, and still share one syscall per recipient. The bytes wait
 * only for the callbacks that were already due; an immediate is pending, so the loop does not
 * block for new I/O before they leave.
 *
 * A socket holding a high-water mark's worth (16 KiB by default) goes out at once: batching
 * more saves nothing, and corked bytes count as unsent, so a turn's burst of large messages
 * must not look like a reader falling behind to the backpressure check.
 */
export function writeThisTurn(socket: Socket, bytes: Buffer): void {
  if (!corked.has(socket)) {
    if (corked.size === 0) setImmediate(uncorkAll)
    socket.cork()
    corked.add(socket)
  }
  socket.write(bytes)
  if (socket.writableLength >= socket.writableHighWaterMark) {
    corked.delete(socket)
    socket.uncork()
  }
}
