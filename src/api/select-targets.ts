/**
 * Resolving target selectors against the live environment. Roles are looked up at the moment
 * of the call (the meta leader now, not when the experiment was written), and random picks
 * come from the step's seeded stream, so `--seed N` replays the same picks.
 */
import type { NodeInfo, TaskInfo } from './environment.ts'
import { TargetError } from './errors.ts'
import type { FaultContext, ResolvedTarget } from './fault.ts'
import type { TargetSelector } from './selector.ts'
import { fetchJson, findMetaLeader, findStreamLeader } from '../nats/monitor.ts'
import type { Rng } from '../util/rng.ts'

export function pickCount(total: number, sel: TargetSelector): number {
  if (sel.count !== undefined) return Math.min(sel.count, total)
  if (sel.percent !== undefined) return Math.min(total, Math.max(1, Math.ceil((total * sel.percent) / 100)))
  return total
}

function pick<T>(items: T[], sel: TargetSelector, rng: Rng): T[] {
  const n = pickCount(items.length, sel)
  return n === items.length && sel.count === undefined && sel.percent === undefined ? items : rng.sample(items, n)
}

export function clusterOf(ctx: FaultContext, sel: TargetSelector): string {
  const clusters = Object.keys(ctx.env.topology().clusters)
  if (sel.cluster) {
    if (!clusters.includes(sel.cluster)) throw new TargetError(`no cluster "${sel.cluster}" in ${ctx.env.source} (has: ${clusters.join(', ')})`)
    return sel.cluster
  }
  if (clusters.length === 1) return clusters[0]
  throw new TargetError(`name the cluster: the environment has ${clusters.join(', ')}`)
}

export async function resolveNodes(ctx: FaultContext, sel: TargetSelector): Promise<NodeInfo[]> {
  const cluster = clusterOf(ctx, sel)
  let nodes = ctx.env.topology().clusters[cluster].nodes
  if (sel.nodes) {
    const unknown = sel.nodes.filter((n) => !nodes.some((x) => x.name === n))
    if (unknown.length) throw new TargetError(`no node ${unknown.join(', ')} in cluster ${cluster}`)
    nodes = nodes.filter((n) => sel.nodes!.includes(n.name))
  }
  if (sel.az) {
    const azs = Array.isArray(sel.az) ? sel.az : [sel.az]
    const unknown = azs.filter((az) => !ctx.env.topology().azs.includes(az))
    if (unknown.length) throw new TargetError(`no AZ ${unknown.join(', ')} in ${ctx.env.source} (has: ${ctx.env.topology().azs.join(', ')})`)
    nodes = nodes.filter((n) => azs.includes(n.az))
  }
  if (sel.role === 'jetstream-meta-leader' || sel.role === 'stream-leader') {
    const leader = sel.role === 'jetstream-meta-leader' ? await findMetaLeader(ctx.env, cluster) : await findStreamLeader(ctx.env, cluster, sel.stream!)
    if (!leader)
      throw new TargetError(`cluster ${cluster} has no ${sel.role === 'stream-leader' ? `leader for stream ${sel.stream}` : 'JetStream meta leader'} right now`)
    nodes = nodes.filter((n) => n.name === leader)
    if (!nodes.length) throw new TargetError(`the ${sel.role} (${leader}) is outside the selection`)
  }
  // one node, as `the meta leader` is: ties broken by the seeded pick (count: n asks for more)
  if (sel.role === 'most-clients')
    return pick(await mostClients(ctx, cluster, nodes), { ...sel, count: sel.count ?? (sel.percent === undefined ? 1 : undefined) }, ctx.rng)
  if (!nodes.length) throw new TargetError(`the selector ${JSON.stringify(sel)} matches no node`)
  return pick(nodes, sel, ctx.rng)
}

/**
 * The nodes holding the most client connections right now (/connz; Gameday's own `gameday-…`
 * connections not counted): killing one of them is what puts the most clients' reconnection
 * to the test. Ties are all kept, for the seeded pick of one.
 */
async function mostClients(ctx: FaultContext, cluster: string, nodes: NodeInfo[]): Promise<NodeInfo[]> {
  const counts = await Promise.all(
    nodes.map(async (n) => {
      try {
        const connz = await fetchJson<{ connections?: { name?: string }[] }>(`${ctx.env.endpoints.natsMonitor(cluster, n.name)}/connz?limit=4096`)
        return (connz.connections ?? []).filter((c) => !c.name?.startsWith('gameday-')).length
      } catch {
        // a node whose monitoring does not answer holds no client we can count
        return -1
      }
    }),
  )
  const most = Math.max(...counts)
  if (most <= 0) throw new TargetError(`cluster ${cluster} has no node with client connections right now`)
  return nodes.filter((_, i) => counts[i] === most)
}

export function nodeTargets(nodes: NodeInfo[], sel: TargetSelector): ResolvedTarget[] {
  return nodes.map((n) => ({ kind: 'node', id: n.name, cluster: n.cluster, az: n.az, ...(sel.role ? { role: sel.role } : {}) }))
}

export async function resolveTasks(ctx: FaultContext, sel: TargetSelector): Promise<TaskInfo[]> {
  if (!sel.service) throw new TargetError('name the service whose tasks to target (target: { service: ... })')
  const services = Object.keys(ctx.env.topology().services)
  if (!services.includes(sel.service)) throw new TargetError(`no service "${sel.service}" in ${ctx.env.source} (has: ${services.join(', ')})`)
  let tasks = (await ctx.env.tasks.list(sel.service)).filter((t) => t.state === 'RUNNING')
  if (sel.az) {
    const azs = Array.isArray(sel.az) ? sel.az : [sel.az]
    tasks = tasks.filter((t) => t.az && azs.includes(t.az))
  }
  if (!tasks.length) throw new TargetError(`service ${sel.service} has no running task to target`)
  // sort so that a seeded pick does not depend on listing order
  tasks.sort((a, b) => a.id.localeCompare(b.id))
  return pick(tasks, sel, ctx.rng)
}

export function taskTargets(tasks: TaskInfo[]): ResolvedTarget[] {
  return tasks.map((t) => ({ kind: 'task', id: t.id, service: t.service, ...(t.az ? { az: t.az } : {}) }))
}

export function nodesFromTargets(ctx: FaultContext, names: string[], cluster?: string): NodeInfo[] {
  const all = Object.values(ctx.env.topology().clusters).flatMap((c) => c.nodes)
  return names.map((name) => {
    const node = all.find((n) => n.name === name && (!cluster || n.cluster === cluster))
    if (!node) throw new TargetError(`node ${name} is not in the environment`)
    return node
  })
}
