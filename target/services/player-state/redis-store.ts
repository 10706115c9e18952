/**
 * player-state over Redis — a single server or a Redis Cluster (each key's slot picks its
 * shard): a hash `player-state:<id>` with fields `state` and `version` (1, 2, 3… per player),
 * written by one Lua script so the version check and the write are atomic.
 *
 * Replication is asynchronous: a primary answers before any replica has what it answers from,
 * and a failover loses whatever the promoted replica had not received. Cut off from its shard's
 * majority, a primary goes on answering for up to cluster-node-timeout, then its replica takes
 * over without those writes. With `waitReplicas` (REDIS_WAIT_REPLICAS) every answer is confirmed
 * before it is given: the operation and `WAIT <n> <ms>` go in one pipeline — one connection to
 * the key's primary, WAIT right after — and the answer stands only once n replicas have the
 * primary's stream up to it; else it is a 504, outcome unknown. That covers updates (an update
 * acknowledged is on a replica), and also conflicts and reads: a compare that fails against, or
 * a read that returns, an update the primary has not replicated would tell the caller of an
 * update that may yet vanish. To give WAIT something to wait for, a read or a failed compare
 * rewrites the version it found (the same value) — reads cost a replicated write.
 */
import { AppError } from '../../lib/errors.ts'
import type { RedisClient } from '../../lib/redis.ts'
import type { StateStore } from './stores.ts'

/** mode 'cas' checks ARGV[2] against the version; 'confirm' (ARGV[4]) rewrites the version found on a conflict */
const CAS_SCRIPT = `
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if ARGV[1] == 'cas' and current ~= tonumber(ARGV[2]) then
  if ARGV[4] == 'confirm' and current > 0 then redis.call('HSET', KEYS[1], 'version', current) end
  return {0, current}
end
local next = current + 1
redis.call('HSET', KEYS[1], 'state', ARGV[3], 'version', next)
return {1, next}
`

/** a read; 'confirm' rewrites the version found, so that a WAIT after it covers what it returned */
const READ_SCRIPT = `
local found = redis.call('HMGET', KEYS[1], 'state', 'version')
if ARGV[1] == 'confirm' and found[2] then redis.call('HSET', KEYS[1], 'version', found[2]) end
return found
`

export function redisKey(playerId: string): string {
  return `player-state:${playerId}`
}

export interface RedisDurability {
  /** replicas that must have what an answer rests on before it is given (0: answer at once, Redis's default) */
  waitReplicas: number
  /** how long to wait for them, in ms */
  waitTimeoutMs: number
  /** how long an operation the cluster refused (MOVED, CLUSTERDOWN…: never applied) may be tried again */
  retryForMs: number
}

/** Errors that say the command was refused, not executed: safe to send again (the slots moved, or a failover is under way). */
const REFUSED = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN|LOADING|MASTERDOWN|READONLY)\b/

type CasReply = [number, number]
type ReadReply = [string | null, string | null]
interface Scripts {
  playerStateCas(key: string, mode: string, expected: string, state: string, confirm: string): Promise<CasReply>
  playerStateRead(key: string, confirm: string): Promise<ReadReply>
}
type ConfirmingPipeline = Scripts & { call(...args: string[]): unknown; exec(): Promise<[Error | null, unknown][] | null> }

export function openRedisStore(
  redis: RedisClient,
  url: string,
  durability: RedisDurability = { waitReplicas: 0, waitTimeoutMs: 0, retryForMs: 0 },
): StateStore {
  redis.defineCommand('playerStateCas', { numberOfKeys: 1, lua: CAS_SCRIPT })
  redis.defineCommand('playerStateRead', { numberOfKeys: 1, lua: READ_SCRIPT })
  const scripts = redis as unknown as Scripts
  const confirming = durability.waitReplicas > 0

  /** The operation, then WAIT, in one pipeline; the operation's reply once the replicas confirmed it. */
  async function confirmed<T>(key: string, what: string, add: (p: ConfirmingPipeline) => void): Promise<T> {
    const deadline = Date.now() + durability.retryForMs
    for (;;) {
      const pipeline = redis.pipeline() as unknown as ConfirmingPipeline
      add(pipeline)
      pipeline.call('WAIT', String(durability.waitReplicas), String(durability.waitTimeoutMs))
      const [[error, reply], [waitError, acked]] = (await pipeline.exec())!
      if (error) {
        if (REFUSED.test(error.message) && Date.now() < deadline) {
          // not executed: where the key lives has changed, or the shard is failing over
          if ('refreshSlotsCache' in redis) redis.refreshSlotsCache()
          await new Promise((r) => setTimeout(r, 100))
          continue
        }
        throw error
      }
      if (waitError || Number(acked) < durability.waitReplicas)
        throw new AppError(
          504,
          `${what} ${key}: confirmed by ${waitError ? 'no' : Number(acked)} of ${durability.waitReplicas} replica(s) within ${durability.waitTimeoutMs} ms — the primary may fail over without it (outcome unknown)`,
        )
      return reply as T
    }
  }

  const casOf = (key: string, mode: string, expected: string, state: string): Promise<CasReply> =>
    confirming
      ? confirmed(key, mode === 'put' ? 'update of' : 'compare-and-set of', (p) => void p.playerStateCas(key, mode, expected, state, 'confirm'))
      : scripts.playerStateCas(key, mode, expected, state, '')
  const readOf = (key: string): Promise<ReadReply> =>
    confirming ? confirmed(key, 'read of', (p) => void p.playerStateRead(key, 'confirm')) : (redis.hmget(key, 'state', 'version') as Promise<ReadReply>)

  return {
    kind: 'redis',
    describe: { store: 'redis', url, ...(confirming ? { waitReplicas: durability.waitReplicas, waitTimeoutMs: durability.waitTimeoutMs } : {}) },
    async get(playerId) {
      const [state, version] = await readOf(redisKey(playerId))
      if (state === null || version === null) return null
      return { state, version: BigInt(version) }
    },
    async put(playerId, state, expectedVersion) {
      const mode = expectedVersion === undefined ? 'put' : 'cas'
      const [ok, version] = await casOf(redisKey(playerId), mode, String(expectedVersion ?? 0n), state)
      return ok === 1 ? { ok: true, version: BigInt(version) } : { ok: false, current: BigInt(version) }
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect())
    },
  }
}
