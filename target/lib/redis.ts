/**
 * A Redis client that fails fast instead of queueing: while Redis is unreachable every command
 * rejects at once (no offline queue, no per-request retry), a command that hangs times out
 * after `commandTimeoutMs`, and reconnection keeps trying in the background every ≤ 500 ms.
 *
 * Commands are never re-sent after a reconnect (`autoResendUnfulfilledCommands: false`): a
 * compare-and-set executed twice could report a conflict for a write that actually happened.
 *
 * A Redis Cluster (the production shape) when REDIS_URL lists several nodes or REDIS_NAT_MAP is
 * set: an ioredis Cluster seeded with every URL, the NAT map rewriting the addresses the nodes
 * announce to the ones this task dials (its links on a fault proxy), REDIS_PASSWORD and
 * REDIS_CA_FILE for AUTH and TLS (`rediss://` URLs). It follows MOVED, ASK and CLUSTERDOWN (a
 * command refused is safe to send again) but never re-sends a command whose connection dropped
 * while it was in flight (`retryDelayOnFailover: 0`), for the same reason as above.
 */
import { readFileSync } from 'node:fs'
import { Cluster, Redis, type ClusterOptions } from 'ioredis'
import type { Logger } from './log.ts'
import { throttled } from './log.ts'

export type RedisClient = Redis | Cluster

export interface RedisOptions {
  commandTimeoutMs: number
  connectTimeoutMs?: number
  /** where REDIS_PASSWORD, REDIS_CA_FILE and REDIS_NAT_MAP are read (default: this process's environment) */
  env?: NodeJS.ProcessEnv
}

/** REDIS_NAT_MAP: `{ "<announced host:port>": "<host:port>" }` → ioredis' natMap. */
export function parseNatMap(raw: string | undefined): Record<string, { host: string; port: number }> | undefined {
  if (!raw?.trim()) return undefined
  const parsed = JSON.parse(raw) as Record<string, string>
  return Object.fromEntries(
    Object.entries(parsed).map(([from, to]) => {
      const i = to.lastIndexOf(':')
      return [from, { host: to.slice(0, i), port: Number(to.slice(i + 1)) }]
    }),
  )
}

export function isClusterUrl(url: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return url.includes(',') || !!env.REDIS_NAT_MAP?.trim()
}

export function createRedis(url: string, log: Logger, opts: RedisOptions): RedisClient {
  const env = opts.env ?? process.env
  const password = env.REDIS_PASSWORD || undefined
  const ca = env.REDIS_CA_FILE ? readFileSync(env.REDIS_CA_FILE) : undefined
  const common = {
    ...(password ? { password } : {}),
    ...(ca ? { tls: { ca } } : {}),
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectTimeout: opts.connectTimeoutMs ?? 500,
    commandTimeout: opts.commandTimeoutMs,
  }
  let redis: RedisClient
  if (isClusterUrl(url, env)) {
    const seeds = url.split(',').map((u) => {
      const parsed = new URL(u.trim())
      return { host: parsed.hostname, port: Number(parsed.port || 6379) }
    })
    const options: ClusterOptions = {
      natMap: parseNatMap(env.REDIS_NAT_MAP),
      // seeds dialled by the name they were given: resolved to an IP first (the default), a TLS
      // node's certificate — issued for its name — would not match (ioredis' ElastiCache TLS note)
      dnsLookup: (address, callback) => callback(null, address),
      redisOptions: { ...common, ...(url.startsWith('rediss:') && !ca ? { tls: {} } : {}) },
      enableOfflineQueue: false,
      // refused commands (MOVED, ASK, TRYAGAIN, CLUSTERDOWN) are sent again; a dropped one never
      retryDelayOnFailover: 0,
      retryDelayOnClusterDown: 100,
      retryDelayOnTryAgain: 100,
      clusterRetryStrategy: (times) => Math.min(50 * times, 500),
      slotsRefreshTimeout: 1_000,
      // a failover is learnt from MOVED, or at the latest from this refresh
      slotsRefreshInterval: 2_000,
    }
    redis = new Cluster(seeds, options)
  } else {
    redis = new Redis(url, { ...common, enableOfflineQueue: false, retryStrategy: (times) => Math.min(50 * times, 500), lazyConnect: false })
  }
  const once = throttled(5_000)
  let up = false
  redis.on('ready', () => {
    up = true
    log('redis-ready', { url, ...(redis instanceof Cluster ? { cluster: true } : {}) })
  })
  redis.on('close', () => {
    if (up) log('redis-disconnected', { url })
    up = false
  })
  redis.on('error', (err: Error) => once('error', (suppressed) => log.error('redis-error', err, { suppressed })))
  return redis
}

/** Resolves once the client is ready (or rejects after `timeoutMs`). */
export function redisReady(redis: RedisClient, timeoutMs: number): Promise<void> {
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
