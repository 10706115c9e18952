/**
 * A Redis client that fails fast instead of queueing: while Redis is unreachable every command
 * rejects at once (no offline queue, no per-request retry), a command that hangs times out
 * after `commandTimeoutMs`, and reconnection keeps trying in the background every ≤ 500 ms.
 *
 * Commands are never re-sent after a reconnect (`autoResendUnfulfilledCommands: false`): a
 * compare-and-set executed twice could report a conflict for a write that actually happened.
 */
import { Redis } from 'ioredis'
import type { Logger } from './log.ts'
import { throttled } from './log.ts'

export function createRedis(url: string, log: Logger, opts: { commandTimeoutMs: number; connectTimeoutMs?: number }): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectTimeout: opts.connectTimeoutMs ?? 500,
    commandTimeout: opts.commandTimeoutMs,
    retryStrategy: (times) => Math.min(50 * times, 500),
    lazyConnect: false,
  })
  const once = throttled(5_000)
  let up = false
  redis.on('ready', () => {
    up = true
    log('redis-ready', { url })
  })
  redis.on('close', () => {
    if (up) log('redis-disconnected', { url })
    up = false
  })
  redis.on('error', (err) => once('error', (suppressed) => log.error('redis-error', err, { suppressed })))
  return redis
}

/** Resolves once the client is ready (or rejects after `timeoutMs`). */
export function redisReady(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady)
      reject(new Error(`redis not ready after ${timeoutMs}ms`))
    }, timeoutMs)
    const onReady = () => {
      clearTimeout(timer)
      resolve()
    }
    redis.once('ready', onReady)
  })
}
