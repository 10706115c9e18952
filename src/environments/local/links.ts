/**
 * The network paths of the local environment, each through the fault proxy, so that a
 * partition or a throttle is a toxic on the right proxies:
 *
 *   route:  node A → node B's cluster port   (one per ordered pair: each side solicits its own)
 *   client: a task in AZ x → node B's client port   (one per AZ and node)
 *   cache:  tasks of service s → Redis cache c   (one per service and cache; for a Redis Cluster,
 *           one per service and node — the tasks' client maps each node's announced address to its link)
 *
 * No direct path bypasses the proxy: nodes only know each other through their configured
 * (proxied) routes — the cluster address they gossip is a proxy that is always disabled — and
 * the cluster does not advertise client URLs, so clients only use the proxied URLs they were given.
 * Probes that stand for users outside the system connect to the nodes directly.
 */
import { cacheLink } from '../fault-proxy.ts'

export type LinkKind = 'route' | 'client' | 'cache' | 'gossip'

export interface Link {
  name: string
  kind: LinkKind
  /** route: node name; client: AZ; cache: service */
  from: string
  /** route, client, gossip: node name; cache: cache name */
  to: string
  listenPort: number
  upstreamPort: number
  /** where the upstream listens, when not 127.0.0.1 (a Redis Cluster node's own loopback address) */
  upstreamHost?: string
  /** cache: the Redis Cluster node behind this link */
  node?: string
  /** gossip blackholes are created disabled */
  enabled: boolean
}

export const routeLink = (from: string, to: string) => `route-${from}-${to}`
export const clientLink = (az: string, node: string) => `client-${az}-${node}`
export const gossipLink = (node: string) => `gossip-${node}`

export interface LinkPlanInput {
  nodes: { name: string; az: string; clientPort: number; clusterPort: number }[]
  azs: string[]
  /** a single server (port), or a Redis Cluster's nodes */
  caches: { name: string; port?: number; nodes?: { name: string; host: string; port: number }[] }[]
  services: { name: string; caches: string[] }[]
}

export function planLinks(input: LinkPlanInput, takePort: () => number): Link[] {
  const links: Link[] = []
  for (const a of input.nodes) {
    for (const b of input.nodes) {
      if (a !== b)
        links.push({
          name: routeLink(a.name, b.name),
          kind: 'route',
          from: a.name,
          to: b.name,
          listenPort: takePort(),
          upstreamPort: b.clusterPort,
          enabled: true,
        })
    }
    links.push({ name: gossipLink(a.name), kind: 'gossip', from: a.name, to: a.name, listenPort: takePort(), upstreamPort: a.clusterPort, enabled: false })
  }
  for (const az of input.azs) {
    for (const n of input.nodes)
      links.push({ name: clientLink(az, n.name), kind: 'client', from: az, to: n.name, listenPort: takePort(), upstreamPort: n.clientPort, enabled: true })
  }
  for (const s of input.services) {
    for (const cacheName of s.caches) {
      const cache = input.caches.find((c) => c.name === cacheName)
      if (!cache) throw new Error(`service ${s.name} uses unknown cache ${cacheName}`)
      for (const node of cache.nodes ?? [])
        links.push({
          name: cacheLink(s.name, node.name),
          kind: 'cache',
          from: s.name,
          to: cacheName,
          node: node.name,
          listenPort: takePort(),
          upstreamHost: node.host,
          upstreamPort: node.port,
          enabled: true,
        })
      if (cache.port !== undefined)
        links.push({
          name: cacheLink(s.name, cacheName),
          kind: 'cache',
          from: s.name,
          to: cacheName,
          listenPort: takePort(),
          upstreamPort: cache.port,
          enabled: true,
        })
    }
  }
  return links
}

/** `cacheLinks`: one per service and single cache, one per service and cluster node */
export function linkCount(input: Omit<LinkPlanInput, 'nodes' | 'caches'> & { nodes: number; cacheLinks: number }): number {
  return input.nodes * (input.nodes - 1) + input.nodes + input.azs.length * input.nodes + input.cacheLinks
}

/** The links a partition between `groups` cuts: both directions, or only groups[0] → the others. */
export function linksAcross(
  links: Link[],
  sideOf: (nodeOrAz: string, kind: 'node' | 'az') => number | undefined,
  oneWay: boolean,
): { link: Link; streams: ('upstream' | 'downstream')[] }[] {
  const cut: { link: Link; streams: ('upstream' | 'downstream')[] }[] = []
  for (const link of links) {
    if (link.kind === 'gossip' || link.kind === 'cache') continue
    const a = link.kind === 'route' ? sideOf(link.from, 'node') : sideOf(link.from, 'az')
    const b = sideOf(link.to, 'node')
    if (a === undefined || b === undefined || a === b) continue
    if (!oneWay) cut.push({ link, streams: ['upstream', 'downstream'] })
    // one way: drop what flows from group 0 to the others, on whichever connection carries it
    else if (a === 0) cut.push({ link, streams: ['upstream'] })
    else if (b === 0) cut.push({ link, streams: ['downstream'] })
  }
  return cut
}
