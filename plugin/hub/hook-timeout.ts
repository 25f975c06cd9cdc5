import type { FastifyBaseLogger } from 'fastify'
import { ErrorCode } from '../../shared/codes.js'
import { RoomcastError } from '../../shared/errors.js'

/** An application hook did not settle within `hookTimeout`; its code is `hook_timeout`. */
export class HookTimeoutError extends RoomcastError {
  readonly hook: string

  constructor(hook: string, timeoutMs: number) {
    super(ErrorCode.HookTimeout, `the server's ${hook} hook did not answer within ${timeoutMs} ms`)
    this.name = 'HookTimeoutError'
    this.hook = hook
  }
}

/**
 * Bounds an application hook's answer: a value that is not a promise passes through as it is
 * (most hooks are synchronous, and a connection storm should not pay a promise for each), a
 * promise is raced against a timer. On time-out the warning is logged with the hook's name and
 * the result rejects with `HookTimeoutError`; whatever the hook does later is ignored (its
 * rejection is handled here, so it is never an unhandled one), and the timer is cleared as soon
 * as the hook settles, so nothing but the hook itself outlives it.
 */
export function withHookTimeout<T>(result: PromiseLike<T>, hook: string, timeoutMs: number, log: FastifyBaseLogger): Promise<T>
export function withHookTimeout<T>(result: T | PromiseLike<T>, hook: string, timeoutMs: number, log: FastifyBaseLogger): T | Promise<T>
export function withHookTimeout<T>(result: T | PromiseLike<T>, hook: string, timeoutMs: number, log: FastifyBaseLogger): T | Promise<T> {
  if (typeof result !== 'object' || result === null || typeof (result as { then?: unknown }).then !== 'function') return result as T
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      log.warn({ hook, timeoutMs }, `roomcast: the ${hook} hook did not settle within ${timeoutMs} ms`)
      reject(new HookTimeoutError(hook, timeoutMs))
    }, timeoutMs)
    // A hook left hanging must not keep the process alive once the server has closed.
    timer.unref()
    ;(result as PromiseLike<T>).then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (err: unknown) => {
        clearTimeout(timer)
        reject(err)
      },
    )
  })
}
