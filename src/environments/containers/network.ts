/**
 * The containers environment's `network` part: partitions as packet DROP rules in the member
 * containers' network namespaces (partition.ts), and the services' Redis links degraded as toxics
 * on the controller's fault proxy (../fault-proxy.ts, as on the local environment).
 */
import type { ControlContext, NetworkControl, PartitionSpec, Topology } from '../../api/environment.ts'
import type { Json } from '../../api/fault.ts'
import { GamedayError, TargetError } from '../../api/errors.ts'
import { cacheLink, CacheLinks } from '../fault-proxy.ts'
import { isClusterCache } from '../redis-config.ts'
import { planClusterNodes } from '../redis-cluster/plan.ts'
import type { ContainersConfig } from './config.ts'
import type { EnvironmentContainers } from './discovery.ts'
import { PORTS } from './builder.ts'
import { cut, describeCut, heal, sever, type Member, type PartitionState } from './partition.ts'
import type { CacheLinkSpec } from './protocol.ts'

/**
 * One proxy per (service, cache) — per (service, node) for a Redis Cluster, whose nodes the
 * service's client dials by the NAT map — in config order, each at its own port of the fault proxy.
 */
export function planCacheLinks(config: ContainersConfig): CacheLinkSpec[] {
  const links: CacheLinkSpec[] = []
  const azs = [...new Set(Object.values(config.clusters).flatMap((c) => c.nodes.map((n) => n.az)))].sort()
  for (const [service, s] of Object.entries(config.services)) {
    for (const cache of s.caches) {
      const c = config.caches[cache]
      if (!c) throw new GamedayError(`service ${service} uses unknown cache ${cache}`)
      if (isClusterCache(c)) {
        for (const node of planClusterNodes(cache, c, c.azs ?? azs))
          links.push({
            name: cacheLink(service, node.name),
            kind: 'cache',
            from: service,
            to: cache,
            node: node.name,
            listenPort: PORTS.cacheLinkBase + links.length,
            upstream: `${node.name}:${PORTS.redis}`,
          })
        continue
      }
      links.push({
        name: cacheLink(service, cache),
        kind: 'cache',
        from: service,
        to: cache,
        listenPort: PORTS.cacheLinkBase + links.length,
        upstream: `${cache}:${PORTS.redis}`,
      })
    }
  }
  return links
}

export class ContainersNetwork implements NetworkControl {
  private readonly cacheLinks: CacheLinks

  constructor(
    private readonly containers: EnvironmentContainers,
    private readonly config: ContainersConfig,
    private readonly source: string,
    topology: () => Topology,
  ) {
    this.cacheLinks = new CacheLinks(
      () => this.proxyUrl(),
      () => planCacheLinks(config),
      topology,
    )
  }

  /** The fault proxy's admin API (Toxiproxy's), as this host reaches it. */
  proxyUrl(): string {
    const url = this.containers.discovered().controller?.proxyUrl
    if (!url) throw new GamedayError(`the containers environment ${this.containers.envId} has no fault proxy: run \`${this.containers.upCommand}\``)
    return url
  }

  /**
   * Who is on which side of a cut: the nodes of each group; and when the cut is by AZ, also the
   * tasks of an AZ whose nodes all sit on one side (a real AZ partition cuts every instance in
   * it). The controller (the load balancer, cross-AZ like an ALB; the fault proxy every Redis
   * link goes through) and the host (the observer) are on no side: as on the local environment,
   * a partition cuts NATS routes and client paths, not the services' links to Redis.
   */
  async partitionMembers(spec: PartitionSpec): Promise<Member[]> {
    const cluster = this.config.clusters[spec.cluster]
    if (!cluster) throw new TargetError(`no cluster "${spec.cluster}" in ${this.source}`)
    const members: Member[] = []
    const groupOfNode = new Map<string, number>()
    spec.groups.forEach((g, i) => g.forEach((n) => groupOfNode.set(n, i)))
    for (const [name, group] of groupOfNode) {
      if (!cluster.nodes.some((n) => n.name === name)) throw new TargetError(`no node ${name} in cluster ${spec.cluster}`)
      members.push({ container: this.containers.name(name), label: name, group })
    }
    if (spec.azs?.length) {
      const groupOfAz = new Map<string, number | undefined>()
      for (const n of cluster.nodes) {
        const g = groupOfNode.get(n.name)
        if (g === undefined) continue
        groupOfAz.set(n.az, groupOfAz.has(n.az) && groupOfAz.get(n.az) !== g ? undefined : g)
      }
      for (const t of (await this.containers.discover()).tasks) {
        const g = groupOfAz.get(t.az)
        if (g !== undefined && t.state === 'running') members.push({ container: t.container, label: t.id, group: g })
      }
    }
    return members
  }

  async partition(spec: PartitionSpec, ctx: ControlContext): Promise<Json> {
    const members = await this.partitionMembers(spec)
    for (const line of describeCut(spec, members)) ctx.log.info(`  ${line}`)
    return (await cut(await this.containers.docker(), this.containers.networkName, spec, members)) as unknown as Json
  }

  async severConnections(state: Json, _ctx?: ControlContext): Promise<void> {
    await sever(await this.containers.docker(), this.containers.networkName, state as unknown as PartitionState)
  }

  async heal(state: Json, _ctx?: ControlContext): Promise<void> {
    await heal(await this.containers.docker(), this.containers.networkName, state as unknown as PartitionState)
  }

  describePartition(spec: PartitionSpec): string[] {
    const members = spec.groups.flatMap((g, i) => g.map((n) => ({ container: this.containers.name(n), label: n, group: i })))
    const lines = describeCut(spec, members)
    return spec.azs?.length ? lines.map((l) => `${l}; with the tasks of ${spec.azs!.join(', ')} on their side`) : lines
  }

  degradeCache: NetworkControl['degradeCache'] = (spec, ctx) => this.cacheLinks.degradeCache(spec, ctx)
  restoreCache: NetworkControl['restoreCache'] = (state, ctx) => this.cacheLinks.restoreCache(state, ctx)
  describeCacheDegradation: NetworkControl['describeCacheDegradation'] = (spec) => this.cacheLinks.describeCacheDegradation(spec)
}
