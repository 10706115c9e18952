/**
 * Faults only a Redis Cluster has, each aimed at shards — by key (`key: player:42`, the shard
 * owning its hash slot), by `slot`, by `shard` number, or by `az` (the shards whose primary is
 * there), else `count`/`percent` of them at random (seeded):
 *
 *   redis.kill-primary      the shard's primary dies; its replica is promoted after
 *                           cluster-node-timeout; revert starts it again and waits until it has
 *                           rejoined, as a replica of the new primary
 *   redis.cluster-failover  CLUSTER FAILOVER on a replica (mode: coordinated | force | takeover);
 *                           revert fails back to the primary it replaced
 *   redis.isolate-primary   the primary is cut from its replica and the other shards (bus and
 *                           replication) while clients still write to it: the majority promotes
 *                           its replica, and what the old primary acknowledged meanwhile is
 *                           dropped when it rejoins — the classic loss of asynchronous replication
 *
 * Blast radius counts shards. On AWS, ElastiCache TestFailover per node group (kill-primary,
 * cluster-failover) and FIS network disruption (isolate-primary) are the counterparts.
 */
import calculateSlot from 'cluster-key-slot'
import { z } from 'zod'
import {
  cacheOf,
  Duration,
  TargetError,
  UnsupportedError,
  defineFault,
  pickCount,
  waitFor,
  type CacheControl,
  type CacheShard,
  type FaultContext,
  type Json,
  type ResolvedTarget,
  type TargetSelector,
} from '../../src/api/index.ts'

type ClusterControl = Required<Pick<CacheControl, 'shards' | 'killNode' | 'startNode' | 'failover' | 'isolateNode' | 'rejoinNode' | 'describeNode'>>

function control(ctx: FaultContext, who: string): ClusterControl {
  const c = ctx.env.caches
  if (!c?.shards || !c.killNode || !c.startNode || !c.failover || !c.isolateNode || !c.rejoinNode || !c.describeNode)
    throw new UnsupportedError(
      ctx.env.kind === 'aws'
        ? `${who}: the aws environment cannot drive a cluster's nodes (on aws: redis.failover is ElastiCache TestFailover per node group; isolating a primary has no AWS counterpart in Gameday yet)`
        : `${who} needs a Redis Cluster the ${ctx.env.kind} environment (${ctx.env.source}) can control (caches: { <name>: { mode: cluster } })`,
    )
  return c as ClusterControl
}

async function shardsOf(ctx: FaultContext, cache: string, who: string): Promise<CacheShard[]> {
  const shards = await control(ctx, who).shards(cache)
  if (!shards) throw new TargetError(`cache ${cache} is a single Redis server, not a cluster: ${who} needs mode: cluster`)
  return shards
}

const owns = (s: CacheShard, slot: number) => s.slots.some(([a, b]) => slot >= a && slot <= b)

/** The shards a selector names, as they are now. */
export async function resolveShards(ctx: FaultContext, sel: TargetSelector, who: string): Promise<ResolvedTarget[]> {
  const cache = cacheOf(ctx, sel)
  const all = await shardsOf(ctx, cache, who)
  let picked = all
  if (sel.key !== undefined || sel.slot !== undefined) {
    const slot = sel.slot ?? calculateSlot(sel.key!)
    picked = all.filter((s) => owns(s, slot))
    if (!picked.length) throw new TargetError(`no shard of ${cache} serves slot ${slot}${sel.key !== undefined ? ` (key ${sel.key})` : ''} now`)
  }
  if (sel.shard !== undefined) {
    picked = picked.filter((s) => s.shard === sel.shard)
    if (!picked.length) throw new TargetError(`no shard ${sel.shard} in ${cache} (has ${all.map((s) => s.shard).join(', ')})`)
  }
  if (sel.az !== undefined) {
    const azs = Array.isArray(sel.az) ? sel.az : [sel.az]
    picked = picked.filter((s) => s.primary?.az !== undefined && azs.includes(s.primary.az))
    if (!picked.length) throw new TargetError(`no shard of ${cache} has its primary in ${azs.join(', ')} now`)
  }
  const n = pickCount(picked.length, sel)
  if (n < picked.length) picked = ctx.rng.sample(picked, n)
  return picked.map((s) => {
    if (!s.primary) throw new TargetError(`shard ${s.shard} of ${cache} has no healthy primary now: wait for the cluster to heal`)
    return {
      kind: 'shard',
      id: `${cache}/${s.shard}`,
      cache,
      shard: s.shard,
      primary: s.primary.name,
      ...(s.primary.az ? { az: s.primary.az } : {}),
      replicas: s.replicas.filter((r) => !r.failed).map((r) => r.name),
      ...(sel.key !== undefined ? { key: sel.key } : {}),
      slots: s.slots.map(([a, b]) => `${a}-${b}`).join(','),
    }
  })
}

/** Waits until the shard is served by a healthy primary other than `not`; returns it and how long that took. */
async function awaitPromotion(ctx: FaultContext, cache: string, shard: number, not: string, timeoutMs: number): Promise<{ primary: string; afterMs: number }> {
  const started = Date.now()
  const primary = await waitFor(
    `a replica of ${cache} shard ${shard} to be promoted`,
    async () => {
      const s = (await control(ctx, 'redis cluster fault').shards(cache))?.find((x) => x.shard === shard)
      return s?.primary && s.primary.name !== not ? s.primary.name : undefined
    },
    { timeoutMs, intervalMs: 100, signal: ctx.signal },
  )
  return { primary, afterMs: Date.now() - started }
}

/** Waits until `node` is a healthy replica of its shard again (it rejoined after a kill or an isolation). */
async function awaitRejoined(ctx: FaultContext, cache: string, shard: number, node: string, timeoutMs: number): Promise<void> {
  await waitFor(
    `${node} to rejoin ${cache} shard ${shard}`,
    async () => {
      const s = (await control(ctx, 'redis cluster fault').shards(cache))?.find((x) => x.shard === shard)
      return !!s?.primary && (s.primary.name === node || s.replicas.some((r) => r.name === node && !r.failed))
    },
    { timeoutMs, intervalMs: 100, signal: ctx.signal },
  )
}

const ShardTargets = ['shard'] as const

const KillParams = z.strictObject({
  promotionTimeout: Duration.prefault('30s').describe('how long the replica may take to be promoted before the fault fails'),
  rejoinTimeout: Duration.prefault('60s').describe('revert: how long the old primary may take to rejoin as a replica'),
})

type NodeState = { cache: string; shard: number; node: string; promoted?: string; promotedAfterMs?: number }

const nodeStates = (targets: ResolvedTarget[]): NodeState[] => targets.map((t) => ({ cache: String(t.cache), shard: Number(t.shard), node: String(t.primary) }))

export const redisKillPrimary = defineFault<z.infer<typeof KillParams>, { nodes: NodeState[] }>({
  type: 'redis.kill-primary',
  description: "kill a Redis Cluster shard's primary: its replica is promoted after cluster-node-timeout; revert restarts it, and it rejoins as a replica",
  targets: [...ShardTargets],
  params: KillParams,
  resolve: (ctx, spec) => resolveShards(ctx, spec.target, 'redis.kill-primary'),
  describe: (ctx, _spec, targets) => targets.flatMap((t) => control(ctx, 'redis.kill-primary').describeNode('kill', String(t.cache), String(t.primary))),
  stateFromTargets: (targets) => ({ nodes: nodeStates(targets) }),
  async inject(ctx, spec, targets) {
    const c = control(ctx, 'redis.kill-primary')
    const nodes = nodeStates(targets)
    ctx.checkpoint({ nodes })
    for (const n of nodes) {
      await c.killNode(n.cache, n.node)
      ctx.log.info(`  killed ${n.node}, primary of ${n.cache} shard ${n.shard}`)
    }
    for (const n of nodes) {
      const { primary, afterMs } = await awaitPromotion(ctx, n.cache, n.shard, n.node, spec.params.promotionTimeout)
      Object.assign(n, { promoted: primary, promotedAfterMs: afterMs })
      ctx.evidence('redis.promotion', { cache: n.cache, shard: n.shard, from: n.node, to: primary, afterMs })
      ctx.log.info(`  ${primary} promoted in ${n.cache} shard ${n.shard} after ${afterMs} ms`)
    }
    return { nodes }
  },
  revert: async (ctx, spec, state) => {
    const c = control(ctx, 'redis.kill-primary')
    for (const n of state?.nodes ?? []) await c.startNode(n.cache, n.node)
    for (const n of state?.nodes ?? []) await awaitRejoined(ctx, n.cache, n.shard, n.node, spec.params.rejoinTimeout)
  },
})

const FailoverParams = z.strictObject({
  mode: z
    .enum(['coordinated', 'force', 'takeover'])
    .default('coordinated')
    .describe('coordinated: CLUSTER FAILOVER (the old primary hands over); force: without the old primary; takeover: without the other primaries’ agreement'),
  replica: z.string().optional().describe('the replica to promote (default: the first healthy one, preferring another AZ than the primary)'),
})

type FailoverState = { moves: { cache: string; shard: number; from: string; to: string }[] }

export const redisClusterFailover = defineFault<z.infer<typeof FailoverParams>, FailoverState>({
  type: 'redis.cluster-failover',
  description: "promote a Redis Cluster shard's replica with CLUSTER FAILOVER (coordinated, FORCE or TAKEOVER); revert fails back",
  targets: [...ShardTargets],
  params: FailoverParams,
  resolve: (ctx, spec) => resolveShards(ctx, spec.target, 'redis.cluster-failover'),
  describe: (ctx, spec, targets) =>
    targets.flatMap((t) => {
      const replica = spec.params.replica ?? (t.replicas as string[])[0]
      if (!replica) throw new TargetError(`shard ${String(t.id)} has no healthy replica to fail over to`)
      return control(ctx, 'redis.cluster-failover').describeNode(
        spec.params.mode === 'coordinated' ? 'failover' : spec.params.mode === 'force' ? 'failover-force' : 'failover-takeover',
        String(t.cache),
        replica,
      )
    }),
  async inject(ctx, spec, targets) {
    const c = control(ctx, 'redis.cluster-failover')
    const moves: FailoverState['moves'] = targets.map((t) => {
      const replica = spec.params.replica ?? (t.replicas as string[])[0]
      if (!replica) throw new TargetError(`shard ${String(t.id)} has no healthy replica to fail over to`)
      if (!(t.replicas as string[]).includes(replica)) throw new TargetError(`${replica} is not a healthy replica of shard ${String(t.id)}`)
      return { cache: String(t.cache), shard: Number(t.shard), from: String(t.primary), to: replica }
    })
    ctx.checkpoint({ moves })
    for (const m of moves) {
      const started = Date.now()
      await c.failover(m.cache, m.to, spec.params.mode, ctx.signal)
      ctx.evidence('redis.failover', { ...m, mode: spec.params.mode, afterMs: Date.now() - started })
      ctx.log.info(`  ${m.to} took over ${m.cache} shard ${m.shard} from ${m.from} (${spec.params.mode})`)
    }
    return { moves }
  },
  revert: async (ctx, _spec, state) => {
    const c = control(ctx, 'redis.cluster-failover')
    for (const m of state?.moves ?? []) {
      const shard = (await c.shards(m.cache))?.find((s) => s.shard === m.shard)
      if (shard?.primary?.name !== m.from) await c.failover(m.cache, m.from, 'coordinated', ctx.signal)
      // reverted means the shard as it was: its replica healthy again, not still catching up
      await awaitRejoined(ctx, m.cache, m.shard, m.to, 60_000)
    }
  },
})

const IsolateParams = z.strictObject({
  awaitPromotion: z.boolean().default(true).describe('return once the majority has promoted the replica (off: return at once)'),
  promotionTimeout: Duration.prefault('30s'),
  rejoinTimeout: Duration.prefault('60s').describe('revert: how long the old primary may take to rejoin as a replica'),
})

type IsolateState = { nodes: (NodeState & { isolation?: Json })[] }

export const redisIsolatePrimary = defineFault<z.infer<typeof IsolateParams>, IsolateState>({
  type: 'redis.isolate-primary',
  description:
    "cut a Redis Cluster shard's primary from its replica and the other shards while clients still write to it; revert heals, and it rejoins as a replica",
  targets: [...ShardTargets],
  params: IsolateParams,
  resolve: (ctx, spec) => resolveShards(ctx, spec.target, 'redis.isolate-primary'),
  describe: (ctx, _spec, targets) => targets.flatMap((t) => control(ctx, 'redis.isolate-primary').describeNode('isolate', String(t.cache), String(t.primary))),
  stateFromTargets: (targets) => ({ nodes: nodeStates(targets) }),
  async inject(ctx, spec, targets) {
    const c = control(ctx, 'redis.isolate-primary')
    const nodes: IsolateState['nodes'] = nodeStates(targets)
    ctx.checkpoint({ nodes })
    for (const n of nodes) {
      n.isolation = await c.isolateNode(n.cache, n.node, { runId: ctx.runId, log: ctx.log, signal: ctx.signal })
      ctx.checkpoint({ nodes })
      ctx.log.info(`  isolated ${n.node}, primary of ${n.cache} shard ${n.shard}, from the rest of its cluster`)
    }
    if (spec.params.awaitPromotion)
      for (const n of nodes) {
        const { primary, afterMs } = await awaitPromotion(ctx, n.cache, n.shard, n.node, spec.params.promotionTimeout)
        Object.assign(n, { promoted: primary, promotedAfterMs: afterMs })
        ctx.evidence('redis.promotion', { cache: n.cache, shard: n.shard, from: n.node, to: primary, afterMs, isolated: true })
        ctx.log.info(`  ${primary} promoted in ${n.cache} shard ${n.shard} after ${afterMs} ms; ${n.node} still takes writes`)
      }
    return { nodes }
  },
  revert: async (ctx, spec, state) => {
    const c = control(ctx, 'redis.isolate-primary')
    // without the isolation's own state (a crash before it was journaled) the node's name is enough to heal it
    for (const n of state?.nodes ?? [])
      await c.rejoinNode(n.isolation ?? { cache: n.cache, node: n.node }, { runId: ctx.runId, log: ctx.log, signal: ctx.signal })
    for (const n of state?.nodes ?? []) await awaitRejoined(ctx, n.cache, n.shard, n.node, spec.params.rejoinTimeout)
  },
})

export const redisClusterFaults = [redisKillPrimary, redisClusterFailover, redisIsolatePrimary]
