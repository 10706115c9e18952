/**
 * network.partition: cut a set of nodes off from the rest — an AZ (`target: { az: az-c }`), an
 * explicit split (`with: { groups: [[n1,n2,n3],[n4,n5]] }`) or one direction only
 * (`oneWay: true`: what the first group sends is lost) — for NATS routes and for client paths
 * that cross the cut, then heal.
 *
 * It proves itself with the cluster's own words: after the cut it waits until /routez on each
 * side lists no route across it, and after the heal until the mesh is full and JetStream has a
 * meta leader, journaling both views as evidence.
 */
import { z } from 'zod'
import {
  clusterOf,
  defineFault,
  DiscoveryError,
  Duration,
  GuardrailError,
  observeCluster,
  resolveNodes,
  sleep,
  TargetError,
  UnsupportedError,
  ValidationError,
  writeDuration,
  type ClusterView,
  type Environment,
  type FaultContext,
  type Json,
  type PartitionSpec,
  type ResolvedTarget,
  type TargetSelector,
} from '../../src/api/index.ts'

const Params = z.strictObject({
  groups: z.array(z.array(z.string()).min(1)).min(2).optional().describe('explicit sides; default: the targeted nodes against the rest'),
  oneWay: z.boolean().default(false).describe('drop only what the first group sends'),
  severAfter: z
    .union([Duration, z.literal('never')])
    .prefault('15s')
    .describe(
      'if NATS still lists routes across the cut after this long, drop those connections as TCP eventually would (nats-server before 2.9.16 delays route pings while it keeps writing: nats-server#4014); never: leave them',
    ),
  confirmWithin: Duration.prefault('30s').describe('how long after that the cut may take to show in /routez before the fault counts as failed'),
  healWithin: Duration.prefault('60s').describe('how long to wait for a full mesh and a meta leader after healing'),
})
type P = z.infer<typeof Params>
type State = { spec: PartitionSpec & Json; revert: Json } & Json

function network(env: Environment) {
  if (!env.network) throw new UnsupportedError(`the ${env.kind} environment cannot partition its network`)
  return env.network
}

async function groupsOf(ctx: FaultContext, target: TargetSelector, p: P): Promise<PartitionSpec> {
  const cluster = clusterOf(ctx, target)
  const all = ctx.env.topology().clusters[cluster].nodes
  if (p.groups) {
    const named = p.groups.flat()
    const unknown = named.filter((n) => !all.some((x) => x.name === n))
    if (unknown.length) throw new TargetError(`partition groups name unknown nodes: ${unknown.join(', ')}`)
    if (new Set(named).size !== named.length) throw new TargetError('a node appears in two partition groups')
    const rest = all.filter((n) => !named.includes(n.name)).map((n) => n.name)
    const groups = rest.length ? [...p.groups.slice(0, -1), [...p.groups.at(-1)!, ...rest]] : p.groups
    return { cluster, groups, oneWay: p.oneWay }
  }
  const isolated = await resolveNodes(ctx, target)
  const rest = all.filter((n) => !isolated.some((i) => i.name === n.name))
  if (!rest.length) throw new TargetError('the partition would isolate every node from nothing: select a subset')
  const azs = target.az ? (Array.isArray(target.az) ? target.az : [target.az]) : undefined
  return { cluster, groups: [isolated.map((n) => n.name), rest.map((n) => n.name)], ...(azs ? { azs } : {}), oneWay: p.oneWay }
}

/** The cut as resolve journaled it in the targets. */
function specOf(targets: ResolvedTarget[]): PartitionSpec {
  const t = targets[0]
  const azs = targets.filter((x) => x.kind === 'az').map((x) => x.id)
  const groups = (t?.groups ?? (t?.isolates ? [t.isolates] : [])) as string[][]
  return { cluster: String(t?.cluster ?? ''), groups, ...(azs.length ? { azs } : {}), oneWay: t?.oneWay === true }
}

const sideOf = (spec: PartitionSpec, node: string) => spec.groups.findIndex((g) => g.includes(node))

/** Routes that still cross the cut, as each reachable node reports them. */
function crossing(view: ClusterView, spec: PartitionSpec): string[] {
  const out: string[] = []
  for (const n of view.nodes) {
    for (const peer of n.routesTo) {
      const a = sideOf(spec, n.node)
      const b = sideOf(spec, peer)
      if (a === b) continue
      if (spec.oneWay && a !== 0 && b !== 0) continue
      out.push(`${n.node}→${peer}`)
    }
  }
  return out
}

const routez = (view: ClusterView): Json => Object.fromEntries(view.nodes.map((n) => [n.node, n.reachable ? n.routesTo : 'unreachable']))

export const networkPartition = defineFault<P, State>({
  type: 'network.partition',
  description: 'cut nodes (an AZ, explicit groups, or one direction) off from the rest: routes and client paths drop packets; heal on revert',
  targets: ['az', 'node'],
  params: Params,
  async resolve(ctx, spec) {
    const p = await groupsOf(ctx, spec.target, spec.params)
    // the groups travel with the targets: plan describes, and a recover heals, from them alone
    return p.azs
      ? p.azs.map((az) => ({ kind: 'az' as const, id: az, cluster: p.cluster, isolates: p.groups[0], groups: p.groups }))
      : [{ kind: 'link' as const, id: p.groups.map((g) => g.join(',')).join(' | '), cluster: p.cluster, groups: p.groups, oneWay: p.oneWay ?? false }]
  },
  describe(ctx, spec, targets) {
    // what the environment will do with exactly this cut (on AWS: the FIS calls, with the step's duration)
    try {
      return network(ctx.env).describePartition({ ...specOf(targets), ...(spec.durationMs ? { durationMs: spec.durationMs } : {}) })
    } catch (err) {
      // a refusal (a cut the environment cannot make, a target it does not have) is the plan's answer;
      // an environment not up yet (local: no state) can only be told the intent
      const answer = [ValidationError, UnsupportedError, GuardrailError, TargetError, DiscoveryError].some((type) => err instanceof type)
      if (answer) throw err
      return [
        `partition ${JSON.stringify(spec.target)}${spec.params.groups ? ` groups ${JSON.stringify(spec.params.groups)}` : ''}${spec.params.oneWay ? ' (one way)' : ''}`,
      ]
    }
  },
  /** the run died before partition() returned: heal whatever this run may have cut (the environment finds it by the run id) */
  stateFromTargets: (targets) => ({ spec: specOf(targets) as PartitionSpec & Json, revert: {} }),
  async inject(ctx, spec) {
    const partition = { ...(await groupsOf(ctx, spec.target, spec.params)), ...(spec.durationMs ? { durationMs: spec.durationMs } : {}) }
    const revert = await network(ctx.env).partition(partition, { runId: ctx.runId, log: ctx.log, signal: ctx.signal })
    const state = { spec: partition, revert } as State
    ctx.checkpoint(state) // the cut is in place: whatever happens next, heal it
    // evidence: wait until no node lists a route across the cut
    const started = Date.now()
    const severAt = spec.params.severAfter === 'never' ? Infinity : started + spec.params.severAfter
    let severed = false
    let deadline = spec.params.severAfter === 'never' ? started + spec.params.confirmWithin : Infinity
    for (;;) {
      const view = await observeCluster(ctx.env, partition.cluster, 1000)
      const left = crossing(view, partition)
      if (!left.length) {
        ctx.evidence('routez-during-partition', {
          groups: partition.groups,
          oneWay: partition.oneWay ?? false,
          routes: routez(view),
          metaLeader: view.metaLeader ?? null,
          noticedAfterMs: Date.now() - started,
          severed,
        })
        ctx.log.info(`    partition in effect: no route across ${partition.groups.map((g) => `[${g.join(',')}]`).join(' | ')}`)
        break
      }
      if (!severed && Date.now() > severAt) {
        severed = true
        deadline = Date.now() + spec.params.confirmWithin
        ctx.evidence('routez-stale-across-partition', {
          afterMs: Date.now() - started,
          stillCrossing: left,
          routes: routez(view),
          note: 'NATS had not noticed the cut: its route pings are delayed while it keeps writing (nats-server#4014, fixed in 2.9.16)',
        })
        ctx.log.warn(
          `    after ${spec.params.severAfter === 'never' ? 'never' : writeDuration(spec.params.severAfter)} NATS still lists routes across the cut (${left.join(', ')}): dropping those connections as TCP would`,
        )
        if (ctx.env.network?.severConnections) await ctx.env.network.severConnections(revert, { runId: ctx.runId, log: ctx.log, signal: ctx.signal })
      }
      if (Date.now() > deadline) {
        ctx.evidence('routez-partition-not-effective', { routes: routez(view), stillCrossing: left })
        throw new Error(`partition not in effect: routes still cross the cut (${left.join(', ')})`)
      }
      await sleep(250, ctx.signal)
    }
    return state
  },
  async revert(ctx, spec, state: State | null) {
    if (!state) {
      ctx.log.warn('    no partition state journaled: nothing known to heal')
      return
    }
    // `{}` (from stateFromTargets): the environment heals whatever this run may have cut
    await network(ctx.env).heal(state.revert, { runId: ctx.runId, log: ctx.log, signal: ctx.signal })
    const deadline = Date.now() + spec.params.healWithin
    let view = await observeCluster(ctx.env, state.spec.cluster, 1000)
    while (!(view.fullMesh && view.metaLeader) && Date.now() < deadline) {
      await sleep(250)
      view = await observeCluster(ctx.env, state.spec.cluster, 1000)
    }
    const healed = view.fullMesh && view.metaLeader !== undefined
    ctx.evidence(healed ? 'routez-after-heal' : 'routez-heal-incomplete', {
      routes: routez(view),
      fullMesh: view.fullMesh,
      metaLeader: view.metaLeader ?? null,
    })
    if (!healed) ctx.log.warn(`    after healing, the mesh is not whole yet (${writeDuration(spec.params.healWithin)}): see the cluster probes`)
  },
})
