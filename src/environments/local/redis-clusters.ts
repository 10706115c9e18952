/**
 * The local environment's Redis Clusters, in the supervisor that owns their processes: each node
 * a redis-server on a loopback address of its own, behind two gates on 127.0.0.1 (its client
 * port — which replicas dial too — and its bus port) that the cluster knows it by; the cluster
 * formed once every node listens; a node isolated from (and rejoined to) its peers by its gates
 * while clients, who come from 127.0.0.1 through the fault proxy, still reach it.
 */
import { waitFor } from '../../util/abort.ts'
import { canConnect } from '../../util/ports.ts'
import { formCluster, type Credentials, type ReachableNode } from '../redis-cluster/form.ts'
import { isolateNode, rejoinNode, SourceGate, type GatedNode } from '../redis-cluster/gate.ts'
import { clusterNodeArgs } from '../redis-cluster/plan.ts'
import type { ClusterNodeState, LocalState, RedisClusterState } from './state.ts'

/** The nodes as gameday reaches them: through their gates, as the cluster announces them. */
export function reachableNodes(rc: RedisClusterState): (ReachableNode & { az: string })[] {
  return Object.values(rc.nodes).map((n) => ({
    ...n,
    host: '127.0.0.1',
    port: n.announcePort,
    announceHost: '127.0.0.1',
    announcePort: n.announcePort,
    announceBusPort: n.announceBusPort,
  }))
}

export const credentialsOf = (rc: RedisClusterState): Credentials => ({ password: rc.password, caFile: rc.caFile })

/** redis-server's arguments for one node. */
export function clusterNodeCommand(rc: RedisClusterState, n: ClusterNodeState): string[] {
  return clusterNodeArgs(
    n,
    {
      bindHost: n.bindHost,
      port: n.realPort,
      busPort: n.busPort,
      announceHost: '127.0.0.1',
      announcePort: n.announcePort,
      announceBusPort: n.announceBusPort,
      dir: n.dir,
    },
    rc.config,
    { password: rc.password, ...(n.tls && rc.caFile ? { tls: { caFile: rc.caFile, ...n.tls } } : {}) },
  )
}

export class LocalRedisClusters {
  private readonly gated = new Map<string, GatedNode[]>()

  constructor(private readonly state: LocalState) {
    for (const rc of Object.values(state.redisClusters))
      this.gated.set(
        rc.name,
        Object.values(rc.nodes).map((n) => ({
          name: n.name,
          source: n.bindHost,
          gates: [
            new SourceGate(`${n.name}-client`, { host: '127.0.0.1', port: n.announcePort }, { host: n.bindHost, port: n.realPort }),
            new SourceGate(`${n.name}-bus`, { host: '127.0.0.1', port: n.announceBusPort }, { host: n.bindHost, port: n.busPort }),
          ],
        })),
      )
  }

  async startGates(): Promise<void> {
    for (const nodes of this.gated.values()) for (const n of nodes) for (const g of n.gates) await g.start()
  }

  async stopGates(): Promise<void> {
    await Promise.all([...this.gated.values()].flatMap((nodes) => nodes.flatMap((n) => n.gates.map((g) => g.stop()))))
  }

  /** Forms every cluster once each of its nodes listens; resolves when every one is whole. */
  async form(): Promise<void> {
    await Promise.all(
      Object.values(this.state.redisClusters).map(async (rc) => {
        await waitFor(
          `the nodes of Redis Cluster ${rc.name} to listen`,
          async () => (await Promise.all(Object.values(rc.nodes).map((n) => canConnect(n.realPort, n.bindHost, 500)))).every(Boolean),
          { timeoutMs: 20_000, intervalMs: 25 },
        )
        await formCluster(reachableNodes(rc), credentialsOf(rc), { timeoutMs: 30_000 })
      }),
    )
  }

  /** Cuts a node from its cluster's other nodes; returns the names it was cut from. */
  isolate(cache: string, node: string): string[] {
    return isolateNode(this.nodesOf(cache), node)
  }

  rejoin(cache: string, node: string): void {
    rejoinNode(this.nodesOf(cache), node)
  }

  private nodesOf(cache: string): GatedNode[] {
    const nodes = this.gated.get(cache)
    if (!nodes) throw new Error(`no Redis Cluster ${cache}`)
    return nodes
  }
}

/** Every cluster node of the state, with its cache. */
export function clusterNodesOf(state: LocalState): { rc: RedisClusterState; node: ClusterNodeState }[] {
  return Object.values(state.redisClusters ?? {}).flatMap((rc) => Object.values(rc.nodes).map((node) => ({ rc, node })))
}
