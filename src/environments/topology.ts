/** The logical topology both process-based environments derive from their YAML the same way. */
import type { NodeAction, NodeInfo, Topology } from '../api/environment.ts'

export interface TopologyConfig {
  clusters: Record<string, { nodes: { name: string; az: string }[] }>
  /** a single server may sit in an AZ; a Redis Cluster's nodes are spread over several */
  caches: Record<string, { az?: string } | { mode: 'cluster' }>
  services: Record<string, { instances: number }>
}

export function topologyOf(config: TopologyConfig): Topology {
  const azs = new Set<string>()
  const clusters: Topology['clusters'] = {}
  for (const [name, c] of Object.entries(config.clusters)) {
    clusters[name] = { name, nodes: c.nodes.map((n) => ({ cluster: name, name: n.name, az: n.az })) }
    c.nodes.forEach((n) => azs.add(n.az))
  }
  const caches = Object.fromEntries(Object.entries(config.caches).map(([name, c]) => [name, { name, az: 'az' in c ? c.az : undefined }]))
  const services = Object.fromEntries(Object.entries(config.services).map(([name, s]) => [name, { name, desired: s.instances }]))
  return { azs: [...azs].sort(), clusters, caches, services }
}

const NODE_VERBS: Record<NodeAction, string> = { kill: 'kill', stop: 'stop', start: 'start', pause: 'pause', resume: 'resume', lameDuck: 'lame duck' }

/** How the process environments (local, containers) describe a node action for plan: one line, the action and the node. */
export function describeNodeAction(action: NodeAction, node: NodeInfo): string[] {
  return [`${NODE_VERBS[action]} NATS node ${node.name} (${node.az})`]
}
