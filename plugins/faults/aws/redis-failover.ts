/**
 * redis.failover: ElastiCache TestFailover, one call per shard (node group). The shard's
 * primary is replaced and a replica promoted — what a primary crash does to a Multi-AZ
 * replication group, and the AWS counterpart of `redis.kill-primary` and
 * `redis.cluster-failover` (AWS cannot keep a node down, and a promoted replica keeps what had
 * replicated, not what was acknowledged). Writes acknowledged by the old primary but not yet
 * replicated are what this fault puts at risk. Nothing undoes a failover: the revert waits for
 * the group to be available again.
 *
 *   - fault: redis.failover
 *     target: { cache: cache }                   # the shard of the group's first primary
 *   - fault: redis.failover
 *     target: { cache: cache, key: "player:42" } # cluster mode: the shard owning the key's slot
 *                                                # (also slot:, shard: <node group number>, az:)
 *
 * Blast radius counts shards (`maxShards`, default 1). AWS allows TestFailover on at most 15
 * shards per rolling 24 hours.
 */
import calculateSlot from 'cluster-key-slot'
import { z } from 'zod'
import {
  Duration,
  TargetError,
  ValidationError,
  defineFault,
  pickCount,
  type CacheGroupInfo,
  type FaultContext,
  type ResolvedTarget,
  type TargetSelector,
} from '../../../src/api/index.ts'
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
  nodeGroups: string[]
}

/** Journals written before shards were targeted held one `nodeGroup`. */
type JournaledState = Omit<FailoverState, 'nodeGroups'> & { nodeGroups?: string[]; nodeGroup?: string }

const stateOf = (targets: ResolvedTarget[]): FailoverState => ({
  cache: String(targets[0].cache ?? targets[0].id),
  replicationGroup: String(targets[0].replicationGroup),
  nodeGroups: targets.map((t) => String(t.nodeGroup)),
})

const nodeGroupsOf = (state: JournaledState): string[] => state.nodeGroups ?? (state.nodeGroup ? [state.nodeGroup] : [])

/** The node groups a selector names: by key or slot, by number, by the AZ of their primary; else the first primary's. */
function pickNodeGroups(ctx: FaultContext, info: CacheGroupInfo, sel: TargetSelector): CacheGroupInfo['nodeGroups'] {
  const groups = info.nodeGroups
  const primaryOf = (g: string) => info.members.find((m) => m.nodeGroup === g && m.role === 'primary')
  const narrowed = sel.key !== undefined || sel.slot !== undefined || sel.shard !== undefined || sel.az !== undefined
  if (!narrowed && sel.count === undefined && sel.percent === undefined) {
    const first = info.members.find((m) => m.role === 'primary')
    return groups.filter((g) => g.id === first?.nodeGroup)
  }
  let picked = groups
  if (sel.key !== undefined || sel.slot !== undefined) {
    const slot = sel.slot ?? calculateSlot(sel.key!)
    picked = picked.filter((g) => g.slots.some(([a, b]) => slot >= a && slot <= b))
    if (!picked.length)
      throw new TargetError(`${TYPE}: no node group of ${info.replicationGroupId} serves slot ${slot}${sel.key !== undefined ? ` (key ${sel.key})` : ''}`)
  }
  if (sel.shard !== undefined) {
    picked = picked.filter((g) => Number(g.id) === sel.shard)
    if (!picked.length) throw new TargetError(`${TYPE}: no node group ${sel.shard} in ${info.replicationGroupId} (has ${groups.map((g) => g.id).join(', ')})`)
  }
  if (sel.az !== undefined) {
    const azs = Array.isArray(sel.az) ? sel.az : [sel.az]
    picked = picked.filter((g) => azs.includes(primaryOf(g.id)?.az ?? ''))
    if (!picked.length) throw new TargetError(`${TYPE}: no node group of ${info.replicationGroupId} has its primary in ${azs.join(', ')}`)
  }
  const n = pickCount(picked.length, sel, 'shards')
  return n < picked.length ? ctx.rng.sample(picked, n) : picked
}

export const redisFailover = defineFault<RedisFailoverParams, FailoverState>({
  type: TYPE,
  description: "ElastiCache TestFailover of a shard (by key, slot, shard or AZ; else the first primary's): a replica is promoted (AWS only)",
  targets: ['cache', 'shard'],
  params: RedisFailoverParams,

  async resolve(ctx, spec) {
    const cache = spec.target.cache
    if (!cache) throw new ValidationError(`${TYPE} needs target.cache`)
    const info = await awsOf(ctx, TYPE).elasticache.describe(cache)
    if (!info.automaticFailover)
      throw new ValidationError(`${TYPE}: ${info.replicationGroupId} has automatic failover off: TestFailover needs it, and a replica`)
    if (info.status !== 'available') throw new TargetError(`${TYPE}: ${info.replicationGroupId} is ${info.status}, not available`)
    const groups = pickNodeGroups(ctx, info, spec.target)
    if (!groups.length) throw new TargetError(`${TYPE}: no primary found in ${info.replicationGroupId}`)
    return groups.map((g) => {
      const primary = info.members.find((m) => m.nodeGroup === g.id && m.role === 'primary')
      if (!primary) throw new TargetError(`${TYPE}: shard ${g.id} of ${info.replicationGroupId} has no primary now: wait for the group to heal`)
      const replicas = info.members.filter((m) => m.nodeGroup === g.id && m.role === 'replica')
      if (!replicas.length) throw new TargetError(`${TYPE}: shard ${g.id} of ${info.replicationGroupId} has no replica to promote`)
      return {
        kind: 'shard',
        id: `${cache}/${g.id}`,
        cache,
        az: primary.az,
        replicationGroup: info.replicationGroupId,
        nodeGroup: g.id,
        primary: primary.id,
        replicas: replicas.map((m) => m.id),
        ...(spec.target.key !== undefined ? { key: spec.target.key } : {}),
        slots: g.slots.map(([a, b]) => `${a}-${b}`).join(','),
      }
    })
  },

  describe: (ctx, _spec, targets) => {
    const elasticache = awsOf(ctx, TYPE).elasticache
    return [
      ...targets.map(
        (t) =>
          `${elasticache.describeTestFailover(String(t.cache), String(t.nodeGroup))} (primary ${t.primary} in ${t.az}, slots ${t.slots}; a replica of ${(t.replicas as string[]).join(', ')} is promoted)`,
      ),
      `revert: no call undoes a failover; waits for ${targets[0]?.replicationGroup} to be available`,
    ]
  },

  stateFromTargets: stateOf,

  async inject(ctx, _spec, targets) {
    const state = stateOf(targets)
    ctx.checkpoint(state)
    for (const nodeGroup of state.nodeGroups) {
      await awsOf(ctx, TYPE).elasticache.testFailover(state.cache, nodeGroup)
      ctx.log.info(`${TYPE}: TestFailover started on ${state.replicationGroup} shard ${nodeGroup}`)
    }
    return state
  },

  async revert(ctx, spec, state) {
    if (!state || !spec.params.waitForRecovery) return
    const info = await awsOf(ctx, TYPE).elasticache.waitAvailable(state.cache, spec.params.recoveryTimeout, ctx.signal)
    for (const nodeGroup of nodeGroupsOf(state as JournaledState)) {
      const primary = info.members.find((m) => m.nodeGroup === nodeGroup && m.role === 'primary')
      ctx.log.info(`${TYPE}: ${info.replicationGroupId} is ${info.status}, shard ${nodeGroup} primary ${primary?.id ?? 'unknown'}`)
    }
  },
})
