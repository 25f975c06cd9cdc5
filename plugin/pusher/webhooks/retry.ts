/**
 * When to try a failed webhook request again: exponential backoff with jitter, so that many
 * nodes whose receiver went down together do not all come back at the same instant.
 */
import type { RetryPolicy } from './options.js'

/**
 * The delay before retry number `retry` (1 for the first retry), or undefined to give up.
 * "Equal jitter": half the exponential step is kept, the other half is random, so a delay never
 * collapses to zero yet the retries of many senders spread out. A receiver's `Retry-After`
 * (seconds) is honoured up to `maxDelayMs`.
 */
export function retryDelay(policy: RetryPolicy, retry: number, elapsedMs: number, retryAfterSeconds?: number, random: () => number = Math.random): number | undefined {
  if (retry >= policy.maxAttempts) return undefined
  const step = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (retry - 1))
  let delay = step / 2 + (random() * step) / 2
  if (retryAfterSeconds !== undefined && Number.isFinite(retryAfterSeconds) && retryAfterSeconds > 0) {
    delay = Math.max(delay, Math.min(policy.maxDelayMs, retryAfterSeconds * 1000))
  }
  if (elapsedMs + delay > policy.maxElapsedMs) return undefined
  return Math.round(delay)
}

/** `Retry-After` as seconds; only the delta-seconds form (dates are rare from webhook receivers). */
export function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || !/^\d+(\.\d+)?$/.test(value.trim())) return undefined
  return Number(value)
}
