import calculateSlot from 'cluster-key-slot'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CacheControl, FaultContext, Json } from '../../src/api/index.ts'
import { checkCluster } from '../../src/environments/redis-cluster/form.ts'
import { clusterControl, type ClusterRuntime } from '../../src/environments/redis-cluster/control.ts'
import { isolateNode, rejoinNode } from '../../src/environments/redis-cluster/gate.ts'
import { createRng } from '../../src/util/rng.ts'
import { waitFor } from '../../src/util/abort.ts'
import { MemoryEnvironment } from '../../test/support/memory-environment.ts'
import { startRedisCluster, type TestRedisCluster } from '../../test/support/redis-cluster.ts'
import { redisClusterFailover, redisIsolatePrimary, redisKillPrimary, resolveShards } from './redis-cluster.ts'

function environmentOf(cluster: TestRedisCluster) {
  const byName = (name: string) => cluster.nodes.find((n) => n.name === name)!
  const runtime: ClusterRuntime = {
    nodes: cluster.nodes,
    creds: { password: cluster.password, caFile: cluster.pki?.caFile },
    killNode: (name) => cluster.kill(byName(name)),
    startNode: (name) => cluster.start(byName(name)),
    isRunning: async (name) => byName(name).process?.exitCode === null,
    isolateNode: async (name) => ({ cutFrom: isolateNode(cluster.gated, name) }),
    rejoinNode: async (name) => rejoinNode(cluster.gated, name),
    describe: (action, node) => [`${action} ${node}`],
  }
  const env = new MemoryEnvironment()
  const caches: CacheControl = { kill: async () => {}, start: async () => {}, isRunning: async () => true, ...clusterControl(() => ({ cache: runtime })) }
  Object.assign(env, { caches })
  const evidence: { kind: string; data: Json }[] = []
  const ctx: FaultContext = {
    env,
    runId: 'test',
    rng: createRng(7),
    log: { info: () => {}, warn: () => {} },
    signal: new AbortController().signal,
    evidence: (kind, data) => evidence.push({ kind, data }),
    dryRun: false,
    checkpoint: () => {},
  }
  return { ctx, evidence, runtime }
}

const spec = <P>(target: Record<string, unknown>, params: P) => ({ type: 'x', target, params })

describe('Redis Cluster faults on 6 real redis-servers', () => {
  let cluster: TestRedisCluster
  beforeAll(async () => {
    cluster = await startRedisCluster()
  }, 60_000)
  afterAll(() => cluster?.stop())

  it('targets the shard owning a key, a slot, or the shards whose primary is in an AZ', async () => {
    const { ctx } = environmentOf(cluster)
    const slot = calculateSlot('player:42')
    const [byKey] = await resolveShards(ctx, { cache: 'cache', key: 'player:42' }, 'test')
    const [first, last] = String(byKey.slots).split('-').map(Number)
    expect(slot >= first && slot <= last).toBe(true)
    expect(await resolveShards(ctx, { cache: 'cache', slot: 0 }, 'test')).toMatchObject([{ kind: 'shard', id: 'cache/1', primary: 'cache-s1-0', az: 'az-a' }])
    expect((await resolveShards(ctx, { cache: 'cache', az: 'az-b' }, 'test')).map((t) => t.id)).toEqual(['cache/2'])
    expect(await resolveShards(ctx, { cache: 'cache', count: 2 }, 'test')).toHaveLength(2)
  })

  it('kill-primary: the replica is promoted, keys of the shard are writable again, and revert brings the old primary back as a replica', async () => {
    const { ctx, evidence } = environmentOf(cluster)
    const fault = redisKillPrimary
    const s = spec({ cache: 'cache', shard: 1 }, fault.params.parse({}))
    const targets = await fault.resolve(ctx, s)
    const state = await fault.inject(ctx, s, targets)
    expect(state.nodes[0]).toMatchObject({ node: 'cache-s1-0', promoted: 'cache-s1-1' })
    expect(evidence[0]).toMatchObject({ kind: 'redis.promotion', data: { from: 'cache-s1-0', to: 'cache-s1-1' } })
    const client = await cluster.client()
    await expect(client.set('{slot0-probe}', 'x')).resolves.toBe('OK')
    await fault.revert(ctx, s, state)
    const shard1 = (await ctx.env.caches!.shards!('cache'))!.find((x) => x.shard === 1)!
    expect(shard1.primary?.name).toBe('cache-s1-1')
    expect(shard1.replicas.map((r) => `${r.name} ${r.failed}`)).toEqual(['cache-s1-0 false'])
    // and the cluster is whole again: the old primary's replication link is up
    await waitFor('the cluster to be whole', async () => (await checkCluster(cluster.nodes, {})).ok, { timeoutMs: 10_000 })
  })

  it('cluster-failover (coordinated and takeover) promotes the replica, and revert fails back', async () => {
    const { ctx } = environmentOf(cluster)
    for (const mode of ['coordinated', 'takeover'] as const) {
      const s = spec({ cache: 'cache', shard: 2 }, redisClusterFailover.params.parse({ mode }))
      const targets = await redisClusterFailover.resolve(ctx, s)
      const state = await redisClusterFailover.inject(ctx, s, targets)
      expect(state.moves).toEqual([{ cache: 'cache', shard: 2, from: 'cache-s2-0', to: 'cache-s2-1' }])
      expect((await ctx.env.caches!.shards!('cache'))!.find((x) => x.shard === 2)!.primary!.name).toBe('cache-s2-1')
      await redisClusterFailover.revert(ctx, s, state)
      expect((await ctx.env.caches!.shards!('cache'))!.find((x) => x.shard === 2)!.primary!.name).toBe('cache-s2-0')
      await waitFor('the cluster to be whole', async () => (await checkCluster(cluster.nodes, {})).ok, { timeoutMs: 10_000 })
    }
  }, 90_000)

  it('isolate-primary: a write the isolated primary acknowledged is gone once it rejoins (asynchronous replication); WAIT tells the writer', async () => {
    const { ctx } = environmentOf(cluster)
    const client = await cluster.client({ commandTimeout: 1_000 })
    const key = '{shard3}:hot'
    const [target] = await resolveShards(ctx, { cache: 'cache', key }, 'test')
    await client.set(key, 'before')
    const s = spec({ cache: 'cache', key }, redisIsolatePrimary.params.parse({ awaitPromotion: false }))
    const state = await redisIsolatePrimary.inject(ctx, s, [target])
    // the client still reaches the old primary, which still acknowledges; WAIT (in the same pipeline, so on the
    // same node) says no replica has it, so a writer that asks knows this write is not safe
    const [[, ok], [, replicas]] = (await client.pipeline().set(key, 'acknowledged-while-isolated').call('WAIT', '1', '300').exec())!
    expect([ok, replicas]).toEqual(['OK', 0])
    const { primary, afterMs } = await (async () => {
      const started = Date.now()
      for (;;) {
        const sh = (await ctx.env.caches!.shards!('cache'))!.find((x) => x.shard === Number(target.shard))!
        if (sh.primary && sh.primary.name !== target.primary) return { primary: sh.primary.name, afterMs: Date.now() - started }
        await new Promise((r) => setTimeout(r, 100))
      }
    })()
    expect(primary).not.toBe(target.primary)
    expect(afterMs).toBeLessThan(15_000)
    await redisIsolatePrimary.revert(ctx, s, state)
    const fresh = await cluster.client()
    expect(await fresh.get(key)).toBe('before')
  })

  it('the same isolation without cutting the bus (the broken variant) promotes nobody and loses nothing', async () => {
    const { ctx, runtime } = environmentOf(cluster)
    runtime.isolateNode = async () => ({ cutFrom: [] })
    const client = await cluster.client()
    const key = '{shard3}:cold'
    await client.set(key, 'v2')
    const s = spec({ cache: 'cache', key }, redisIsolatePrimary.params.parse({ promotionTimeout: '4s' }))
    const targets = await redisIsolatePrimary.resolve(ctx, s)
    await expect(redisIsolatePrimary.inject(ctx, s, targets)).rejects.toThrow(/timed out .* to be promoted/)
    expect(await client.get(key)).toBe('v2')
  })
})
