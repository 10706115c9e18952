/**
 * The containers environment's Redis Clusters: a container per node on the environment's
 * network, announcing its name (which its certificate carries) rather than its address.
 *
 * - The controller forms each cluster before the first task starts (`formRedisClusters`): it
 *   reaches the nodes by name, and MEETs them at the address their name resolves to.
 * - The environment drives them from the host (`containerClusterRuntime`): each node through its
 *   published port, the NAT map rewriting `<node>:6379` to it; a node killed and started again
 *   with docker (the same container: its nodes.conf, its node id); a node isolated from the
 *   others by packet DROP rules in the nodes' network namespaces (../containers/partition.ts),
 *   which leaves the tasks (through the controller's fault proxy) and the host able to reach it.
 */
import { lookup } from 'node:dns/promises'
import type { ControlContext } from '../../api/environment.ts'
import type { Json } from '../../api/fault.ts'
import { TargetError } from '../../api/errors.ts'
import { waitFor } from '../../util/abort.ts'
import type { ClusterRuntime } from '../redis-cluster/control.ts'
import { checkCluster, formCluster, nodeClient, type Credentials, type ReachableNode } from '../redis-cluster/form.ts'
import { planClusterNodes, type ClusterNodePlan, type RedisClusterConfig } from '../redis-cluster/plan.ts'
import { clusterCaches } from '../redis-config.ts'
import { PORTS } from './builder.ts'
import type { ContainersConfig } from './config.ts'
import { readSecureState } from './host-state.ts'
import { azsOf } from './secure-layout.ts'
import type { EnvironmentContainers } from './discovery.ts'
import { ignoreGone } from './docker.ts'
import { cut, heal, type Member, type PartitionState } from './partition.ts'
import type { ControllerSpec } from './protocol.ts'

type Say = (event: string, fields?: Record<string, unknown>) => void

/** In the controller: forms every Redis Cluster of the spec that is not whole yet. */
export async function formRedisClusters(spec: ControllerSpec, say: Say): Promise<void> {
  for (const [cache, rc] of Object.entries(spec.redisClusters ?? {})) {
    const creds: Credentials = { password: rc.password, caFile: rc.caFile }
    try {
      const nodes: ReachableNode[] = await Promise.all(
        rc.nodes.map(async (n) => ({
          ...n,
          host: n.name,
          port: PORTS.redis,
          announceHost: n.name,
          announcePort: PORTS.redis,
          announceBusPort: PORTS.redisBus,
          meetHost: (await lookup(n.name, { family: 4 })).address,
        })),
      )
      if ((await checkCluster(nodes, creds)).ok) {
        say('redis-cluster.whole', { cache })
        continue
      }
      await formCluster(nodes, creds, { timeoutMs: 60_000 })
      say('redis-cluster.formed', { cache, nodes: nodes.length })
    } catch (err) {
      say('redis-cluster.failed', { cache, error: (err as Error).message })
    }
  }
}

/** Every Redis Cluster of the environment, as the host drives it. */
export function clusterRuntimes(containers: EnvironmentContainers, config: ContainersConfig): Record<string, ClusterRuntime> {
  const secure = readSecureState(containers.envId)
  return Object.fromEntries(
    Object.entries(clusterCaches(config.caches)).map(([cache, c]) => [
      cache,
      containerClusterRuntime(containers, cache, plannedNodes(cache, c, azsOf(config)), {
        password: secure?.redis[cache]?.password,
        caFile: secure?.redis[cache]?.caFile,
      }),
    ]),
  )
}

/** The nodes of a cluster as planned from the environment file (names, shards, AZs). */
export function plannedNodes(cache: string, config: RedisClusterConfig, azs: string[]): ClusterNodePlan[] {
  return planClusterNodes(cache, config, config.azs ?? azs)
}

export function containerClusterRuntime(containers: EnvironmentContainers, cache: string, plan: ClusterNodePlan[], creds: Credentials): ClusterRuntime {
  const published = (name: string) => {
    const n = containers.discovered().clusterNodes[cache]?.[name]
    if (!n) throw new TargetError(`Redis Cluster node ${name} of ${cache} has no container: is the environment up?`)
    return n
  }
  const nodes = plan.map((n) => ({
    ...n,
    host: '127.0.0.1',
    port: published(n.name).port,
    announceHost: n.name,
    announcePort: PORTS.redis,
    announceBusPort: PORTS.redisBus,
  }))
  const container = async (name: string) => (await containers.docker()).getContainer(containers.name(name))
  const members = (name: string): Member[] => plan.map((n) => ({ container: containers.name(n.name), label: n.name, group: n.name === name ? 0 : 1 }))
  const answers = async (name: string) => {
    const client = nodeClient(
      nodes.find((n) => n.name === name)!,
      creds,
    )
    try {
      return (await client.ping()) === 'PONG'
    } catch {
      return false // not up yet: asked again
    } finally {
      client.disconnect()
    }
  }
  return {
    nodes,
    creds,
    killNode: async (name) => void (await ignoreGone((await container(name)).kill())),
    startNode: async (name) => {
      const c = await container(name)
      const info = await ignoreGone(c.inspect())
      if (info && !info.State.Running) await ignoreGone(c.start())
      await waitFor(`Redis Cluster node ${name} to answer`, () => answers(name), { timeoutMs: 20_000, intervalMs: 100 })
    },
    isRunning: async (name) => (await ignoreGone((await container(name)).inspect()))?.State.Running ?? false,
    isolateNode: async (name, ctx: ControlContext) => {
      const state = await cut(
        await containers.docker(),
        containers.networkName,
        { cluster: cache, groups: [[name], plan.filter((n) => n.name !== name).map((n) => n.name)] },
        members(name),
      )
      ctx.log.info(`  dropping packets between ${name} and the other nodes of ${cache} (iptables in their network namespaces)`)
      return state as unknown as Json
    },
    rejoinNode: async (name, detail) => {
      // without the isolation's own state (a crash before it was journaled), every node of the cluster is healed
      const state = (detail as unknown as PartitionState | undefined) ?? {
        network: containers.networkName,
        containers: members(name).map((m) => m.container),
        across: {},
      }
      await heal(await containers.docker(), containers.networkName, state)
    },
    describe: (action, name) => {
      const n = plan.find((x) => x.name === name)
      switch (action) {
        case 'kill':
          return [`docker kill ${containers.name(name)} (${n?.az})`]
        case 'start':
          return [`docker start ${containers.name(name)}: the same container, its nodes.conf and node id`]
        case 'isolate':
          return [`drop packets between ${name} (${n?.az}) and the other nodes of ${cache} (iptables in their network namespaces); clients still reach it`]
        case 'rejoin':
          return [`remove those DROP rules`]
        default:
          return [`CLUSTER FAILOVER${action === 'failover' ? '' : action === 'failover-force' ? ' FORCE' : ' TAKEOVER'} on ${name} (${n?.az})`]
      }
    },
  }
}
