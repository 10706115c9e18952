/**
 * The Redis Cluster controls of a process environment (local or containers): the live shard
 * topology, failovers, and the node kill / start / isolate the environment carries out its own
 * way (signals or docker; gates or iptables). Both environments build their `caches` part's
 * cluster methods with `clusterControl`.
 */
import type { CacheControl, CacheNodeAction, CacheNodeInfo, CacheShard, ControlContext } from '../../api/environment.ts'
import type { Json } from '../../api/fault.ts'
import { TargetError } from '../../api/errors.ts'
import { waitFor } from '../../util/abort.ts'
import { nodeClient, parseClusterNodes, type ClusterNodeLine, type Credentials, type ReachableNode } from './form.ts'

/** One cluster as the environment runs it. */
export interface ClusterRuntime {
  nodes: (ReachableNode & { az: string })[]
  creds: Credentials
  /** how this environment kills / starts / isolates a node, and says so for plan */
  killNode(node: string): Promise<void>
  startNode(node: string): Promise<void>
  isRunning(node: string): Promise<boolean>
  /** cut the node from the others both ways; what it returns comes back to `rejoinNode` with `node` */
  isolateNode(node: string, ctx: ControlContext): Promise<Json>
  /** undo an isolation: `detail` is what isolateNode returned, absent after a crash (then the node's name must do) */
  rejoinNode(node: string, detail: Json | undefined, ctx: ControlContext): Promise<void>
  describe(action: CacheNodeAction, node: string): string[]
}

const shardOf = (name: string) => Number(/-s(\d+)-\d+$/.exec(name)?.[1] ?? 0)

/** Each node's view of the cluster, with its current epoch: the view with the highest epoch is the cluster's latest configuration. */
async function views(rt: ClusterRuntime): Promise<{ node: string; epoch: number; lines: ClusterNodeLine[] }[]> {
  const seen = await Promise.all(
    rt.nodes.map(async (n) => {
      const client = nodeClient(n, rt.creds)
      try {
        const info = (await client.call('CLUSTER', 'INFO')) as string
        const lines = parseClusterNodes((await client.call('CLUSTER', 'NODES')) as string)
        return { node: n.name, epoch: Number(/cluster_current_epoch:(\d+)/.exec(info)?.[1] ?? 0), lines }
      } catch {
        return undefined // a dead or unreachable node has no view; the others say what it is
      } finally {
        client.disconnect()
      }
    }),
  )
  return seen.filter((v) => v !== undefined)
}

/** The shards as the cluster's latest configuration has them; a node nobody can reach, or flagged failed, is `failed`. */
export async function clusterShards(cache: string, rt: ClusterRuntime): Promise<CacheShard[]> {
  const all = await views(rt)
  if (!all.length) throw new TargetError(`no node of the Redis Cluster ${cache} answers`)
  const reachable = new Set(all.map((v) => v.node))
  // the latest configuration; among equals, the view of the node that sees the most healthy peers
  const best = all.sort((a, b) => b.epoch - a.epoch || healthy(b.lines) - healthy(a.lines))[0]
  const byAddress = new Map(rt.nodes.map((n) => [`${n.announceHost}:${n.announcePort}`, n]))
  const infos: (CacheNodeInfo & { id: string; primaryId?: string; slots: [number, number][] })[] = []
  for (const line of best.lines) {
    const n = byAddress.get(line.address)
    if (!n) continue
    infos.push({
      cache,
      name: n.name,
      az: n.az,
      role: line.flags.includes('master') ? 'primary' : 'replica',
      shard: shardOf(n.name),
      failed: !reachable.has(n.name) || line.flags.some((f) => f === 'fail' || f === 'fail?'),
      id: line.id,
      ...(line.primaryId ? { primaryId: line.primaryId } : {}),
      slots: line.slots,
    })
  }
  const shards = [...new Set(rt.nodes.map((n) => shardOf(n.name)))].sort((a, b) => a - b)
  return shards.map((shard) => {
    const members = infos.filter((i) => i.shard === shard)
    const primary = members.find((m) => m.role === 'primary' && !m.failed && m.slots.length)
    const strip = ({ id: _id, primaryId: _p, slots: _s, ...info }: (typeof infos)[number]): CacheNodeInfo => info
    return {
      cache,
      shard,
      slots: members.find((m) => m.role === 'primary' && m.slots.length)?.slots ?? [],
      ...(primary ? { primary: strip(primary) } : {}),
      replicas: members.filter((m) => m !== primary && m.role === 'replica').map(strip),
    }
  })
}

const healthy = (lines: ClusterNodeLine[]) => lines.filter((l) => !l.flags.some((f) => f === 'fail' || f === 'fail?')).length

/** The cluster methods of a `CacheControl`, over the environment's clusters by cache name. */
export function clusterControl(
  clusters: () => Record<string, ClusterRuntime>,
): Required<Pick<CacheControl, 'shards' | 'killNode' | 'startNode' | 'failover' | 'isolateNode' | 'rejoinNode' | 'describeNode'>> {
  const rt = (cache: string) => {
    const found = clusters()[cache]
    if (!found) throw new TargetError(`cache ${cache} is not a Redis Cluster (mode: cluster) in this environment`)
    return found
  }
  const node = (cache: string, name: string) => {
    const n = rt(cache).nodes.find((x) => x.name === name)
    if (!n)
      throw new TargetError(
        `no node ${name} in the Redis Cluster ${cache} (has: ${rt(cache)
          .nodes.map((x) => x.name)
          .join(', ')})`,
      )
    return n
  }
  return {
    shards: async (cache) => (clusters()[cache] ? clusterShards(cache, rt(cache)) : undefined),
    killNode: async (cache, name) => rt(cache).killNode(node(cache, name).name),
    startNode: async (cache, name) => rt(cache).startNode(node(cache, name).name),
    failover: async (cache, name, mode, signal) => {
      const replica = node(cache, name)
      const client = nodeClient(replica, rt(cache).creds)
      try {
        const isPrimary = async () =>
          /role:master/.test(await client.info('replication')) && (await clusterShards(cache, rt(cache))).some((s) => s.primary?.name === name)
        // a coordinated failover needs the replica in sync with its primary (a node just demoted is still resyncing),
        // and Redis gives up on one that does not complete within 5 s: ask again until it takes
        await waitFor(
          `${name} to serve as its shard's primary`,
          async () => {
            if (mode === 'coordinated' && !/master_link_status:up/.test(await client.info('replication'))) return false
            await client.call('CLUSTER', 'FAILOVER', ...(mode === 'coordinated' ? [] : [mode.toUpperCase()]))
            // not taken over within Redis' own 5 s: the outer wait asks again
            return waitFor(`${name} to take over`, isPrimary, { timeoutMs: 6_000, intervalMs: 100, signal }).catch(() => false)
          },
          { timeoutMs: 45_000, intervalMs: 200, signal },
        )
      } finally {
        client.disconnect()
      }
    },
    isolateNode: async (cache, name, ctx) => ({ cache, node: node(cache, name).name, detail: (await rt(cache).isolateNode(name, ctx)) ?? null }),
    rejoinNode: async (state, ctx) => {
      const { cache, node: name, detail } = state as { cache: string; node: string; detail?: Json }
      await rt(cache).rejoinNode(name, detail ?? undefined, ctx)
    },
    describeNode: (action, cache, name) => rt(cache).describe(action, node(cache, name).name),
  }
}
