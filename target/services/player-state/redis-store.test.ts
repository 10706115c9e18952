/**
 * player-state's Redis store on a real Redis Cluster (3 shards, a replica each) whose primary is
 * isolated from its replica and the other shards while the store still reaches it — the way
 * asynchronous replication loses acknowledged writes. Without REDIS_WAIT_REPLICAS the isolated
 * primary acknowledges an update that is gone once it rejoins (the broken variant); with it the
 * same update, and a read or a failed compare resting on it, answer 504 (outcome unknown), and
 * what was acknowledged survives.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import calculateSlot from 'cluster-key-slot'
import { isolateNode, rejoinNode } from '../../../src/environments/redis-cluster/gate.ts'
import { clusterShards, type ClusterRuntime } from '../../../src/environments/redis-cluster/control.ts'
import { waitFor } from '../../../src/util/abort.ts'
import { startRedisCluster, type TestRedisCluster } from '../../../test/support/redis-cluster.ts'
import { createRedis, redisReady, type RedisClient } from '../../lib/redis.ts'
import { AppError } from '../../lib/errors.ts'
import { openRedisStore, redisKey } from './redis-store.ts'
import type { StateStore } from './stores.ts'

const quiet = Object.assign(() => {}, { error: () => {} }) as unknown as Parameters<typeof createRedis>[1]

let cluster: TestRedisCluster
const clients: RedisClient[] = []
beforeAll(async () => {
  // a primary cut off goes on answering for up to the node timeout: long enough here for a few operations
  cluster = await startRedisCluster({ auth: true, nodeTimeout: 3_000 })
}, 60_000)
afterAll(async () => {
  for (const c of clients) c.disconnect()
  await cluster?.stop()
})

async function store(waitReplicas: number): Promise<StateStore> {
  const url = cluster.nodes.map((n) => `redis://${n.host}:${n.port}`).join(',')
  const redis = createRedis(url, quiet, { commandTimeoutMs: 2_000, env: { REDIS_PASSWORD: cluster.password } })
  clients.push(redis)
  await redisReady(redis, 10_000)
  return openRedisStore(redis, url, { waitReplicas, waitTimeoutMs: 300, retryForMs: 2_000 })
}

const runtime = (): ClusterRuntime => ({
  nodes: cluster.nodes,
  creds: { password: cluster.password },
  killNode: async () => {},
  startNode: async () => {},
  isRunning: async () => true,
  isolateNode: async () => null,
  rejoinNode: async () => {},
  describe: () => [],
})

/** The primary of the shard holding the player's key, as the cluster has it now. */
async function primaryOf(playerId: string): Promise<{ shard: number; primary: string }> {
  const slot = calculateSlot(redisKey(playerId))
  const shard = (await clusterShards('cache', runtime())).find((s) => s.slots.some(([a, b]) => slot >= a && slot <= b))!
  return { shard: shard.shard, primary: shard.primary!.name }
}

/** Isolates the key's primary (it answers on for up to the node timeout); the rejoin waits for its replica's promotion first. */
async function isolatePrimaryOf(playerId: string): Promise<() => Promise<void>> {
  const { shard, primary } = await primaryOf(playerId)
  isolateNode(cluster.gated, primary)
  const rejoin = async () => {
    await waitFor(
      `a replica of shard ${shard} to be promoted`,
      async () => {
        const now = (await clusterShards('cache', runtime())).find((x) => x.shard === shard)?.primary?.name
        return now !== undefined && now !== primary
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    )
    rejoinNode(cluster.gated, primary)
    await waitFor(
      `${primary} to rejoin as a replica`,
      async () => {
        const s = (await clusterShards('cache', runtime())).find((x) => x.shard === shard)!
        return s.primary?.name !== primary && s.replicas.some((r) => r.name === primary && !r.failed)
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    )
  }
  return rejoin
}

let rejoin: (() => Promise<void>) | undefined
afterEach(async () => {
  await rejoin?.()
  rejoin = undefined
})

describe('player-state on a Redis Cluster whose primary is isolated', () => {
  it('without REDIS_WAIT_REPLICAS: the isolated primary acknowledges an update, which is gone once it rejoins (the broken variant)', async () => {
    const s = await store(0)
    const id = 'lossy'
    expect(await s.put(id, 'v1', 0n)).toEqual({ ok: true, version: 1n })
    // replicated before the cut: WAIT would say so, and the replica takes it over
    await waitFor('v1 on the replica', async () => (await s.get(id))?.version === 1n, { timeoutMs: 2_000 })
    await new Promise((r) => setTimeout(r, 300))
    rejoin = await isolatePrimaryOf(id)
    expect(await s.put(id, 'v2', 1n)).toEqual({ ok: true, version: 2n })
    expect(await s.get(id)).toEqual({ state: 'v2', version: 2n })
    await rejoin()
    rejoin = undefined
    const fresh = await store(0)
    await waitFor('the promoted replica to answer', async () => (await fresh.get(id)) !== null, { timeoutMs: 10_000 })
    expect(await fresh.get(id)).toEqual({ state: 'v1', version: 1n })
  }, 60_000)

  it('with REDIS_WAIT_REPLICAS=1: that update, a read of it and a compare against it answer 504; what was acknowledged survives', async () => {
    const s = await store(1)
    const id = 'confirmed'
    expect(await s.put(id, 'v1', 0n)).toEqual({ ok: true, version: 1n })
    expect(await s.get(id)).toEqual({ state: 'v1', version: 1n })
    rejoin = await isolatePrimaryOf(id)
    const unconfirmed = await s.put(id, 'v2', 1n).catch((err: unknown) => err)
    expect(unconfirmed).toBeInstanceOf(AppError)
    expect(unconfirmed).toMatchObject({ code: 504, message: expect.stringMatching(/confirmed by 0 of 1 replica\(s\) within 300 ms/) })
    // the primary holds v2 now: neither a read nor a compare may answer from it
    await expect(s.get(id)).rejects.toMatchObject({ code: 504 })
    await expect(s.put(id, 'v3', 1n)).rejects.toMatchObject({ code: 504 })
    await rejoin()
    rejoin = undefined
    await waitFor('the promoted replica to answer', async () => (await s.get(id).catch(() => null)) !== null, { timeoutMs: 10_000 })
    expect(await s.get(id)).toEqual({ state: 'v1', version: 1n })
    expect(await s.put(id, 'v2', 1n)).toEqual({ ok: true, version: 2n })
  }, 60_000)
})
