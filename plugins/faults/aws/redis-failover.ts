/**
 * redis.failover: ElastiCache TestFailover on the shard that holds the cache's primary. The
 * primary is replaced and a replica promoted — what a primary crash does to a Multi-AZ
 * replication group, and the AWS counterpart of `redis.kill` (AWS cannot keep a node down,
 * and a promoted replica keeps what had replicated, not what was acknowledged). Writes
 * acknowledged by the old primary but not yet replicated are what this fault puts at risk.
 * Nothing undoes a failover: the revert waits for the group to be available again.
 *
 *   - fault: redis.failover
 *     target: { cache: cache }
 *
 * AWS allows TestFailover on at most 15 shards per rolling 24 hours.
 */
import { z } from 'zod'
import { Duration, TargetError, ValidationError, defineFault, type ResolvedTarget } from '../../../src/api/index.ts'
import { awsOf } from './aws.ts'

const TYPE = 'redis.failover'

export const RedisFailoverParams = z
  .strictObject({
    waitForRecovery: z.boolean().default(true).describe('revert waits for the replication group to be available again'),
    recoveryTimeout: Duration.prefault('20m'),
  })
  .prefault({})

export type RedisFailoverParams = z.infer<typeof RedisFailoverParams>

type FailoverState = {
  cache: string
  replicationGroup: string
  nodeGroup: string
}

const stateOf = (targets: ResolvedTarget[]): FailoverState => ({
  cache: targets[0].id,
  replicationGroup: String(targets[0].replicationGroup),
  nodeGroup: String(targets[0].nodeGroup),
})

export const redisFailover = defineFault<RedisFailoverParams, FailoverState>({
  type: TYPE,
  description: "ElastiCache TestFailover of the cache primary's shard: a replica is promoted (AWS only)",
  targets: ['cache'],
  params: RedisFailoverParams,

  async resolve(ctx, spec) {
    const cache = spec.target.cache
    if (!cache) throw new ValidationError(`${TYPE} needs target.cache`)
    const info = await awsOf(ctx, TYPE).elasticache.describe(cache)
    if (!info.automaticFailover)
      throw new ValidationError(`${TYPE}: ${info.replicationGroupId} has automatic failover off: TestFailover needs it, and a replica`)
    if (info.status !== 'available') throw new TargetError(`${TYPE}: ${info.replicationGroupId} is ${info.status}, not available`)
    const primary = info.members.find((m) => m.role === 'primary')
    if (!primary?.nodeGroup) throw new TargetError(`${TYPE}: no primary found in ${info.replicationGroupId}`)
    const replicas = info.members.filter((m) => m.nodeGroup === primary.nodeGroup && m.role === 'replica')
    if (!replicas.length) throw new TargetError(`${TYPE}: shard ${primary.nodeGroup} of ${info.replicationGroupId} has no replica to promote`)
    return [
      {
        kind: 'cache',
        id: cache,
        az: primary.az,
        replicationGroup: info.replicationGroupId,
        nodeGroup: primary.nodeGroup,
        primary: primary.id,
        replicas: replicas.map((m) => m.id),
      },
    ]
  },

  describe: (ctx, _spec, targets) => {
    const elasticache = awsOf(ctx, TYPE).elasticache
    return targets.flatMap((t) => [
      `${elasticache.describeTestFailover(t.id, String(t.nodeGroup))} (primary ${t.primary} in ${t.az}; a replica of ${(t.replicas as string[]).join(', ')} is promoted)`,
      `revert: no call undoes a failover; waits for ${t.replicationGroup} to be available`,
    ])
  },

  stateFromTargets: stateOf,

  async inject(ctx, _spec, targets) {
    const state = stateOf(targets)
    await awsOf(ctx, TYPE).elasticache.testFailover(state.cache, state.nodeGroup)
    ctx.log.info(`${TYPE}: TestFailover started on ${state.replicationGroup} shard ${state.nodeGroup}`)
    return state
  },

  async revert(ctx, spec, state) {
    if (!state || !spec.params.waitForRecovery) return
    const info = await awsOf(ctx, TYPE).elasticache.waitAvailable(state.cache, spec.params.recoveryTimeout, ctx.signal)
    const primary = info.members.find((m) => m.role === 'primary')
    ctx.log.info(`${TYPE}: ${info.replicationGroupId} is ${info.status}, primary ${primary?.id ?? 'unknown'}`)
  },
})
