/**
 * Redis as an environment file asks for it, shared by the local and container environments so a
 * cache behaves the same in both — in particular what survives a `redis.kill`:
 *
 *   cache: { az: az-a, persistence: none }                                  one redis-server (the default)
 *   cache: { mode: cluster, shards: 3, replicasPerShard: 1, auth: true, tls: true }   a Redis Cluster (redis-cluster/plan.ts)
 */
import { z } from 'zod'
import { RedisClusterConfig } from './redis-cluster/plan.ts'
import { RedisPersistence } from './redis-persistence.ts'

export { RedisPersistence, redisPersistenceArgs } from './redis-persistence.ts'

export const SingleCacheConfig = z.strictObject({
  mode: z.literal('single').optional().describe('one redis-server (the default); mode: cluster for a Redis Cluster'),
  az: z.string().optional(),
  persistence: RedisPersistence,
})

export const CacheConfig = z.discriminatedUnion('mode', [RedisClusterConfig, SingleCacheConfig])
export type CacheConfig = z.infer<typeof CacheConfig>
export type SingleCacheConfig = z.infer<typeof SingleCacheConfig>

export const isClusterCache = (c: CacheConfig): c is RedisClusterConfig => c.mode === 'cluster'

/** The Redis Clusters of an environment file's caches, by name. */
export function clusterCaches(caches: Record<string, CacheConfig>): Record<string, RedisClusterConfig> {
  return Object.fromEntries(Object.entries(caches).filter((e): e is [string, RedisClusterConfig] => isClusterCache(e[1])))
}

/** The checks a Redis Cluster needs beyond its shape: its replicas can sit in other AZs than their primary. */
export function checkCaches(caches: Record<string, CacheConfig>, azs: string[], ctx: z.RefinementCtx): void {
  for (const [name, c] of Object.entries(clusterCaches(caches))) {
    const spread = c.azs ?? azs
    if (c.replicasPerShard > 0 && spread.length < c.replicasPerShard + 1)
      ctx.addIssue({
        code: 'custom',
        path: ['caches', name, 'replicasPerShard'],
        message: `${c.replicasPerShard} replica(s) per shard in other AZs than their primary need ${c.replicasPerShard + 1} AZs, and ${c.azs ? 'azs:' : "the environment's NATS nodes"} name ${spread.length} (${spread.join(', ')}): add AZs or lower replicasPerShard`,
      })
  }
}
