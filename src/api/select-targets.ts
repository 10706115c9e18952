/**
 * Resolving target selectors against the live environment. Roles are looked up at the moment
 * of the call (the meta leader now, not when the experiment was written), and random picks
 * come from the step's seeded stream, so `--seed N` replays the same picks.
 */
import type { NodeInfo, TaskInfo, Topology } from './environment.ts'
import { TargetError } from './errors.ts'
import type { FaultContext, ResolvedTarget, TargetKind } from './fault.ts'
import type { TargetSelector } from './selector.ts'
import { fetchJson, findMetaLeader, findStreamLeader } from '../nats/monitor.ts'
import type { Rng } from '../util/rng.ts'

/** How many of `total` candidates the selector picks; a count above the total is refused, never reduced. */
export function pickCount(total: number, sel: TargetSelector, what = 'targets'): number {
  if (sel.count !== undefined) {
    if (sel.count > total) throw new TargetError(`count: ${sel.count} asks for more than the ${total} ${what} the selector matches: ask for at most ${total}`)
    return sel.count
  }
  if (sel.percent !== undefined) return Math.min(total, Math.max(1, Math.ceil((total * sel.percent) / 100)))
  return total
}

/**
 * What can be told of a selector from the environment's topology alone, before anything is
 * resolved live: names the environment does not have, a count above what there is. Plan lists
 * these as refusals and a run refuses them before resolving (a role needs the live cluster).
 */
export function selectorProblems(sel: TargetSelector, kinds: readonly TargetKind[], topology: Topology, source: string): string[] {
  const problems: string[] = []
  const clusters = Object.keys(topology.clusters)
  const azs = sel.az === undefined ? [] : Array.isArray(sel.az) ? sel.az : [sel.az]
  const unknownAzs = azs.filter((az) => !topology.azs.includes(az))
  if (unknownAzs.length) problems.push(`no AZ ${unknownAzs.join(', ')} in ${source} (has: ${topology.azs.join(', ') || 'none'})`)
  if (sel.service !== undefined && !(sel.service in topology.services)) {
    problems.push(`no service "${sel.service}" in ${source} (has: ${Object.keys(topology.services).join(', ') || 'none'})`)
  }
  if (sel.cache !== undefined && !(sel.cache in topology.caches)) {
    problems.push(`no cache "${sel.cache}" in ${source} (has: ${Object.keys(topology.caches).join(', ') || 'none'})`)
  }
  const namesNodes = kinds.includes('node') || sel.cluster !== undefined || sel.nodes !== undefined
  if (namesNodes && !kinds.includes('other')) {
    if (sel.cluster !== undefined && !clusters.includes(sel.cluster)) {
      problems.push(`no cluster "${sel.cluster}" in ${source} (has: ${clusters.join(', ') || 'none'})`)
    } else if (sel.cluster === undefined && clusters.length !== 1 && kinds.includes('node')) {
      problems.push(clusters.length ? `name the cluster: ${source} has ${clusters.join(', ')}` : `${source} has no NATS cluster`)
    } else {
      const cluster = topology.clusters[sel.cluster ?? clusters[0]]
      let nodes = cluster.nodes
      const unknownNodes = (sel.nodes ?? []).filter((n) => !nodes.some((x) => x.name === n))
      if (unknownNodes.length) problems.push(`no node ${unknownNodes.join(', ')} in cluster ${cluster.name} (has: ${nodes.map((n) => n.name).join(', ')})`)
      if (sel.nodes) nodes = nodes.filter((n) => sel.nodes!.includes(n.name))
      if (azs.length && !unknownAzs.length) nodes = nodes.filter((n) => azs.includes(n.az))
      if (!unknownNodes.length && !unknownAzs.length && kinds.includes('node') && !kinds.includes('task')) {
        if (!nodes.length) problems.push(`the selector ${JSON.stringify(sel)} matches no node of cluster ${cluster.name}`)
        else if (sel.count !== undefined && sel.role === undefined && sel.count > nodes.length) {
          problems.push(
            `count: ${sel.count} asks for more than the ${nodes.length} node(s) the selector matches in cluster ${cluster.name}: ask for at most ${nodes.length}`,
          )
        }
      }
    }
  }
  if (sel.service !== undefined && sel.service in topology.services && kinds.includes('task') && sel.count !== undefined && !azs.length) {
    const desired = topology.services[sel.service].desired
    if (sel.count > desired)
      problems.push(`count: ${sel.count} asks for more than the ${desired} task(s) service ${sel.service} runs: ask for at most ${desired}`)
  }
  return problems
}

/**
 * A node fault that would hit more than a minority of a cluster at once (per wave: a rolling
 * fault hits one wave at a time) takes the cluster's quorum: refused unless the selector says
 * `allowMajority: true`. Returns why, or undefined.
 */
export function majorityProblem(faultType: string, sel: TargetSelector, targets: readonly ResolvedTarget[], topology: Topology): string | undefined {
  if (sel.allowMajority) return undefined
  const groups = new Map<string, number>()
  for (const t of targets) {
    if (t.kind !== 'node' || typeof t.cluster !== 'string') continue
    const key = `${t.cluster}\u0000${t.wave ?? 0}`
    groups.set(key, (groups.get(key) ?? 0) + 1)
  }
  for (const [key, hit] of groups) {
    const cluster = key.split('\u0000')[0]
    const size = topology.clusters[cluster]?.nodes.length
    if (size === undefined) continue
    const minority = Math.floor((size - 1) / 2)
    if (hit > minority) {
      return `${faultType} would hit ${hit} of the ${size} nodes of cluster ${cluster} at once: more than a minority (at most ${minority}), so the cluster loses its quorum; if that is the experiment, say so with allowMajority: true in the target`
    }
  }
  return undefined
}

function pick<T>(items: T[], sel: TargetSelector, rng: Rng, what: string): T[] {
  const n = pickCount(items.length, sel, what)
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

/** The cache a selector names (`target: { cache }`), or the environment's only cache. */
export function cacheOf(ctx: FaultContext, sel: TargetSelector): string {
  const caches = Object.keys(ctx.env.topology().caches)
  if (sel.cache) {
    if (!caches.includes(sel.cache)) throw new TargetError(`no cache "${sel.cache}" in ${ctx.env.source} (has: ${caches.join(', ') || 'none'})`)
    return sel.cache
  }
  if (caches.length === 1) return caches[0]
  throw new TargetError(`name the cache: target: { cache: ... } (has: ${caches.join(', ') || 'none'})`)
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
    return pick(
      await mostClients(ctx, cluster, nodes),
      { ...sel, count: sel.count ?? (sel.percent === undefined ? 1 : undefined) },
      ctx.rng,
      `node(s) of cluster ${cluster} with the most clients`,
    )
  if (!nodes.length) throw new TargetError(`the selector ${JSON.stringify(sel)} matches no node`)
  return pick(nodes, sel, ctx.rng, `node(s) of cluster ${cluster}`)
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
  return pick(tasks, sel, ctx.rng, `running task(s) of ${sel.service}`)
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

/** The nodes that resolved targets (from nodeTargets) name, in the targets' cluster. */
export function targetNodes(ctx: FaultContext, targets: readonly ResolvedTarget[]): NodeInfo[] {
  return nodesFromTargets(
    ctx,
    targets.map((t) => t.id),
    String(targets[0]?.cluster ?? '') || undefined,
  )
}
