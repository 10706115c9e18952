/**
 * The stores the cas-correctness probe judges, behind one small interface: read a key (value and
 * version), write it blindly, or compare-and-set it on the version last read.
 *
 *   nats-kv       a replicated NATS KV bucket (allow_direct: false: reads answered by the leader)
 *   redis         a hash per key {value, version} changed by one Lua script (atomic CAS)
 *   http          a service's own API over HTTP (http-store.ts)
 *   nats-request  a service's own API over NATS request-reply with its protobuf schemas
 *                 (nats-request-store.ts); `player-state` is one mapping of it (presets.ts)
 *
 * Values are integers (unique per write for registers, the count for the counter); versions are
 * positive integers, 0 = absent. A store throws `StoreError` when an operation did not complete:
 * `definite` when it certainly did not take effect (refused, never sent), else its outcome is
 * unknown (a timeout, a connection lost mid-flight) and the history records it as indeterminate.
 */
import { jetstream, jetstreamManager, JetStreamApiCodes, JetStreamApiError, JetStreamError } from '@nats-io/jetstream'
import { Kvm, type KV } from '@nats-io/kv'
import { ClosedConnectionError, DrainingConnectionError, RequestError, TimeoutError, type NatsConnection } from '@nats-io/transport-node'
import { readFileSync } from 'node:fs'
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import { type RedisEndpoint } from '../../../src/api/index.ts'

export type CasValue = number | null

export interface Versioned {
  value: CasValue
  /** 0 = absent */
  version: number
}

export type CasAnswer = { ok: true; version: number } | { ok: false }

export interface CasStore {
  readonly kind: string
  /** facts for the report (bucket, replicas, url…) */
  readonly describe: Record<string, string | number | boolean>
  read(key: string): Promise<Versioned>
  /** a blind write; a store without one gets none (its API may only offer compare-and-set) */
  write?(key: string, value: number): Promise<{ version: number }>
  /** applies only if the key is still at `expected.version` (0: only if absent) */
  cas(key: string, expected: Versioned, to: number): Promise<CasAnswer>
  /** whether the store answers at all (used before the final read) */
  ready(): Promise<string | undefined>
  /** the versions the store still holds for a key, oldest first (forensics for a counterexample) */
  revisions?(key: string): Promise<{ version: number; value: CasValue }[]>
  close(): Promise<void>
}

export class StoreError extends Error {
  override name = 'StoreError'
  constructor(
    message: string,
    /** true: certainly not applied; false: outcome unknown */
    readonly definite: boolean,
    /** short class for the report: timeout, no-responders, api-10008, http-500… */
    readonly errorClass: string,
  ) {
    super(message)
  }
}

/** Classifies a NATS / JetStream client error. */
export function natsStoreError(err: unknown): StoreError {
  if (err instanceof StoreError) return err
  const message = (err as Error)?.message ?? String(err)
  if (err instanceof TimeoutError) return new StoreError(message, false, 'timeout')
  if (err instanceof JetStreamApiError) return new StoreError(message, true, `api-${err.code}`)
  if ((err as Error)?.name === 'JetStreamNotEnabled' || (err instanceof RequestError && err.isNoResponders()))
    return new StoreError(message, true, 'no-responders')
  if (err instanceof ClosedConnectionError || err instanceof DrainingConnectionError) return new StoreError(message, true, 'client-closed')
  if (err instanceof JetStreamError) return new StoreError(message, false, 'bad-reply')
  return new StoreError(message, false, (err as Error)?.name || 'error')
}

const isWrongLastSequence = (err: unknown) =>
  err instanceof JetStreamApiError && (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)

const parseValue = (s: string): CasValue => {
  const n = Number(s)
  return Number.isSafeInteger(n) ? n : null
}

/**
 * NATS KV. The bucket is created with `allow_direct: false`, and an existing bucket with direct
 * gets on is refused: a direct get (`$JS.API.DIRECT.GET`) is answered by ANY replica of the
 * stream, including a follower that has not yet applied the latest acknowledged write, so a read
 * could return a stale value and the checker would blame the system for a read the client chose
 * to make stale. With direct gets off, `kv.get` is `$JS.API.STREAM.MSG.GET`, which only the stream
 * leader answers. (That makes reads as fresh as the leader believes itself to be — a deposed
 * leader that does not know it yet is exactly what this probe is there to catch.)
 */
export async function openNatsKvStore(
  nc: NatsConnection,
  opts: { bucket: string; replicas: number; history?: number; timeoutMs: number; prefix: string; deadlineMs?: number },
): Promise<CasStore> {
  const js = jetstream(nc, { timeout: opts.timeoutMs })
  const kvm = new Kvm(js)
  const jsm = await jetstreamManager(nc, { timeout: 5_000, checkAPI: false })
  const deadline = performance.now() + (opts.deadlineMs ?? 60_000)
  let kv: KV | undefined
  let lastError: unknown
  while (!kv && performance.now() < deadline) {
    try {
      kv = await kvm.create(opts.bucket, { replicas: opts.replicas, history: opts.history ?? 16, allow_direct: false })
    } catch (err) {
      lastError = err // a fresh cluster still placing its meta group: try again
      await new Promise((r) => setTimeout(r, 500))
    }
  }
  if (!kv) throw new Error(`could not open KV bucket ${opts.bucket}: ${(lastError as Error)?.message ?? lastError}`)
  const info = await jsm.streams.info(`KV_${opts.bucket}`)
  if (info.config.allow_direct) {
    throw new Error(
      `KV bucket ${opts.bucket} has allow_direct: true: reads could be served stale by any replica, so a linearizability verdict would be meaningless; use another bucket`,
    )
  }
  const bucket = kv
  const full = (key: string) => `${opts.prefix}.${key}`
  return {
    kind: 'nats-kv',
    describe: { store: 'nats-kv', bucket: opts.bucket, replicas: info.config.num_replicas, allowDirect: false },
    async read(key) {
      try {
        const e = await bucket.get(full(key))
        if (!e || e.operation !== 'PUT') return { value: null, version: 0 }
        return { value: parseValue(e.string()), version: e.revision }
      } catch (err) {
        throw natsStoreError(err)
      }
    },
    async write(key, value) {
      try {
        return { version: await bucket.put(full(key), String(value), { timeout: opts.timeoutMs }) }
      } catch (err) {
        throw natsStoreError(err)
      }
    },
    async cas(key, expected, to) {
      try {
        // previousSeq 0 = "no message on this subject yet" (what kv.create sends)
        const version = await bucket.put(full(key), String(to), { previousSeq: expected.version, timeout: opts.timeoutMs })
        return { ok: true, version }
      } catch (err) {
        if (isWrongLastSequence(err)) return { ok: false }
        throw natsStoreError(err)
      }
    },
    async ready() {
      const s = await jsm.streams.info(`KV_${opts.bucket}`)
      return s.cluster && !s.cluster.leader ? `bucket ${opts.bucket} has no leader` : undefined
    },
    async revisions(key) {
      const out: { version: number; value: CasValue }[] = []
      const it = await bucket.history({ key: full(key) })
      for await (const e of it) out.push({ version: e.revision, value: e.operation === 'PUT' ? parseValue(e.string()) : null })
      return out
    },
    async close() {},
  }
}

/**
 * Redis: a hash `<prefix>:<key>` {value, version}, read with HMGET and changed by one Lua script
 * (check the version, write, bump it): atomic, as Redis runs a script alone. On a Redis Cluster
 * each key's slot picks its shard, so the probe's keys spread over the shards.
 */
const REDIS_CAS = `
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if ARGV[1] == 'cas' and current ~= tonumber(ARGV[2]) then
  return {0, current}
end
local next = current + 1
redis.call('HSET', KEYS[1], 'value', ARGV[3], 'version', next)
return {1, next}
`

export function redisStoreError(err: unknown): StoreError {
  if (err instanceof StoreError) return err
  const message = (err as Error)?.message ?? String(err)
  // refused before it was sent: disconnected, and the client keeps no offline queue
  if (/isn't writeable|enableOfflineQueue/.test(message)) return new StoreError(message, true, 'not-sent')
  // Redis answered with an error (LOADING, a script error…): nothing was written
  if ((err as Error)?.name === 'ReplyError') return new StoreError(message, true, `redis-${message.split(' ')[0]}`)
  if (/Command timed out/.test(message)) return new StoreError(message, false, 'timeout')
  // "Connection is closed." / "Reached the max retries per request limit": the socket dropped
  // with the command in flight (the client never re-sends it)
  if (/Connection is closed/.test(message)) return new StoreError(message, false, 'connection-closed')
  if ((err as Error)?.name === 'MaxRetriesPerRequestError') return new StoreError(message, false, 'connection-lost')
  return new StoreError(message, false, (err as Error)?.name || 'error')
}

/**
 * A Redis Cluster client as the probe opens it: every node a seed, the endpoint's NAT map, and
 * the same rule as a single server's — refused commands (MOVED, ASK, TRYAGAIN, CLUSTERDOWN: never
 * applied) are sent again, a command whose connection dropped in flight never (`retryDelayOnFailover: 0`).
 */
function clusterClient(endpoint: RedisEndpoint, node: RedisOptions): Cluster {
  return new Cluster(endpoint.cluster!.nodes, {
    ...(endpoint.cluster!.natMap ? { natMap: endpoint.cluster!.natMap } : {}),
    redisOptions: node,
    enableOfflineQueue: false,
    retryDelayOnFailover: 0,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    clusterRetryStrategy: (times) => Math.min(50 * times, 500),
    slotsRefreshTimeout: 1_000,
    slotsRefreshInterval: 2_000,
    lazyConnect: true,
  })
}

export async function openRedisStore(endpoint: RedisEndpoint, opts: { timeoutMs: number; prefix: string }): Promise<CasStore> {
  const node: RedisOptions = {
    ...(endpoint.password ? { password: endpoint.password } : {}),
    ...(endpoint.tls ? { tls: endpoint.caFile ? { ca: readFileSync(endpoint.caFile) } : {} } : {}),
    // fail fast, never re-send: a CAS executed twice could report a conflict for its own write
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: opts.timeoutMs,
    connectTimeout: 1_000,
  }
  const redis: Redis | Cluster = endpoint.cluster
    ? clusterClient(endpoint, node)
    : new Redis({
        host: endpoint.host,
        port: endpoint.port,
        ...node,
        enableOfflineQueue: false,
        retryStrategy: (times) => Math.min(50 * times, 500),
        lazyConnect: true,
      })
  redis.on('error', () => {}) // reconnects by itself; operations report their own errors
  redis.defineCommand('gamedayCas', { numberOfKeys: 1, lua: REDIS_CAS })
  const cas = (redis as unknown as { gamedayCas(key: string, mode: string, expected: string, value: string): Promise<[number, number]> }).gamedayCas.bind(redis)
  await redis.connect()
  const full = (key: string) => `${opts.prefix}:${key}`
  return {
    kind: 'redis',
    describe: {
      store: 'redis',
      url: `${endpoint.tls ? 'rediss' : 'redis'}://${endpoint.host}:${endpoint.port}`,
      ...(endpoint.cluster ? { cluster: true, nodes: endpoint.cluster.nodes.length } : {}),
    },
    async read(key) {
      try {
        const [value, version] = await redis.hmget(full(key), 'value', 'version')
        if (value === null || version === null) return { value: null, version: 0 }
        return { value: parseValue(value), version: Number(version) }
      } catch (err) {
        throw redisStoreError(err)
      }
    },
    async write(key, value) {
      try {
        const [, version] = await cas(full(key), 'put', '0', String(value))
        return { version }
      } catch (err) {
        throw redisStoreError(err)
      }
    },
    async cas(key, expected, to) {
      try {
        const [ok, version] = await cas(full(key), 'cas', String(expected.version), String(to))
        return ok === 1 ? { ok: true, version } : { ok: false }
      } catch (err) {
        throw redisStoreError(err)
      }
    },
    async ready() {
      try {
        await redis.ping()
        return undefined
      } catch (err) {
        return `redis: ${(err as Error).message}`
      }
    },
    async close() {
      redis.disconnect()
    },
  }
}

export type BrokenMode = 'skip-compare' | 'ack-without-store'

/**
 * TEST ONLY: a deliberately broken adapter over a real store, to prove the checker can fail.
 *   skip-compare       every cas is an unconditional write (reported applied)
 *   ack-without-store  every 4th write / cas answers "applied" without reaching the store
 */
export function brokenStore(store: CasStore, mode: BrokenMode): CasStore {
  let mutations = 0
  return {
    ...store,
    kind: `${store.kind} (broken: ${mode})`,
    describe: { ...store.describe, broken: mode },
    read: (key) => store.read(key),
    ...(store.write
      ? {
          async write(key: string, value: number) {
            if (mode === 'ack-without-store' && ++mutations % 4 === 0) return { version: 1_000_000_000 + mutations }
            return store.write!(key, value)
          },
        }
      : {}),
    async cas(key, expected, to) {
      if (mode === 'skip-compare') {
        if (!store.write) throw new Error('skip-compare needs a store with blind writes')
        return { ok: true, version: (await store.write(key, to)).version }
      }
      if (++mutations % 4 === 0) return { ok: true, version: expected.version + 1 }
      return store.cas(key, expected, to)
    },
    ready: () => store.ready(),
    ...(store.revisions ? { revisions: (key: string) => store.revisions!(key) } : {}),
    close: () => store.close(),
  }
}
