/**
 * Forming a Redis Cluster from fresh nodes, and reading what it is now.
 *
 * The cluster is formed with the cluster commands themselves (ADDSLOTSRANGE, MEET, REPLICATE)
 * rather than `redis-cli --cluster create`: the replica of each shard must sit in another AZ
 * than its primary, which redis-cli decides by IP address (every node here shares one), and
 * this needs no redis-tools in the images.
 */
import { Redis } from 'ioredis'
import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { waitFor } from '../../util/abort.ts'
import { SLOT_COUNT, type ClusterNodePlan } from './plan.ts'

/** A node as gameday reaches it (directly, not through any fault path), and as it announces itself. */
export interface ReachableNode extends ClusterNodePlan {
  host: string
  port: number
  /** what it announces to clients: an IP (a gate's), or a hostname (a container's name) */
  announceHost: string
  announcePort: number
  announceBusPort: number
  /** the IP the others MEET it at, when it announces a hostname (CLUSTER MEET takes an IP) */
  meetHost?: string
}

export interface Credentials {
  password?: string
  /** CA file: the nodes speak TLS */
  caFile?: string
}

/** One ioredis connection to one node (no cluster redirection), failing fast. */
export function nodeClient(node: { host: string; port: number }, creds: Credentials): Redis {
  const client = new Redis({
    host: node.host,
    port: node.port,
    password: creds.password,
    // verified against the name dialled (an IP against the certificate's IP names)
    ...(creds.caFile ? { tls: { ca: readFileSync(creds.caFile), ...(isIP(node.host) ? {} : { servername: node.host }) } } : {}),
    lazyConnect: true,
    enableOfflineQueue: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 5_000,
    retryStrategy: () => null,
  })
  client.on('error', () => {}) // each command rejects with the error; the caller decides
  return client
}

/** One line of CLUSTER NODES. */
export interface ClusterNodeLine {
  id: string
  /** announced host:port — its hostname when it announces one, else its IP */
  address: string
  flags: string[]
  /** the primary's id, for a replica */
  primaryId?: string
  linkState: 'connected' | 'disconnected'
  slots: [number, number][]
}

export function parseClusterNodes(text: string): ClusterNodeLine[] {
  return text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, addr, flags, primary, , , , link, ...slots] = line.trim().split(' ')
      // ip:port@cport[,hostname]
      const [ipPort, bus = ''] = addr.split('@')
      const hostname = bus.split(',')[1]
      return {
        id,
        address: hostname ? `${hostname}:${ipPort.slice(ipPort.lastIndexOf(':') + 1)}` : ipPort,
        flags: flags.split(','),
        ...(primary !== '-' ? { primaryId: primary } : {}),
        linkState: link as ClusterNodeLine['linkState'],
        slots: slots
          .filter((s) => !s.startsWith('['))
          .map((s) => {
            const [a, b] = s.split('-').map(Number)
            return [a, b ?? a] as [number, number]
          }),
      }
    })
}

async function withClients<T>(nodes: ReachableNode[], creds: Credentials, fn: (clients: Map<string, Redis>) => Promise<T>): Promise<T> {
  const clients = new Map(nodes.map((n) => [n.name, nodeClient(n, creds)]))
  try {
    return await fn(clients)
  } finally {
    for (const c of clients.values()) c.disconnect()
  }
}

/** Forms the cluster: slots to primaries, every node met, replicas attached; returns when `checkCluster` finds nothing wrong. */
export async function formCluster(nodes: ReachableNode[], creds: Credentials, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
  await withClients(nodes, creds, async (clients) => {
    const client = (n: ReachableNode) => clients.get(n.name)!
    const ids = new Map<string, string>()
    for (const n of nodes) ids.set(n.name, (await client(n).call('CLUSTER', 'MYID')) as string)
    for (const n of nodes) for (const [from, to] of n.slots) await client(n).call('CLUSTER', 'ADDSLOTSRANGE', String(from), String(to))
    const [first, ...rest] = nodes
    for (const n of rest) await client(first).call('CLUSTER', 'MEET', n.meetHost ?? n.announceHost, String(n.announcePort), String(n.announceBusPort))
    await waitFor(
      'every Redis Cluster node to know every other',
      async () => {
        for (const n of nodes) {
          const lines = parseClusterNodes((await client(n).call('CLUSTER', 'NODES')) as string)
          if (lines.length < nodes.length || lines.some((l) => l.flags.includes('handshake') || l.flags.includes('noaddr'))) return false
        }
        return true
      },
      { timeoutMs: opts.timeoutMs, intervalMs: 50, signal: opts.signal },
    )
    for (const n of nodes.filter((x) => x.initialRole === 'replica')) {
      const primary = nodes.find((p) => p.shard === n.shard && p.initialRole === 'primary')!
      await client(n).call('CLUSTER', 'REPLICATE', ids.get(primary.name)!)
    }
  })
  await waitFor(
    'the Redis Cluster to be whole (every slot served, every replica in sync, cluster_state:ok everywhere)',
    async () => (await checkCluster(nodes, creds)).ok,
    { timeoutMs: opts.timeoutMs, intervalMs: 100, signal: opts.signal },
  )
}

export interface ClusterCheck {
  ok: boolean
  problems: string[]
}

/**
 * Is the cluster whole? Every node says cluster_state:ok, the primaries' slots cover all 16384,
 * every primary has as many connected replicas as it was planned with (`master_link_status:up`).
 */
export async function checkCluster(nodes: ReachableNode[], creds: Credentials): Promise<ClusterCheck> {
  const problems: string[] = []
  const replicasPerShard = Math.max(0, ...nodes.map((n) => Number(n.name.split('-').pop())))
  await withClients(nodes, creds, async (clients) => {
    let lines: ClusterNodeLine[] = []
    for (const n of nodes) {
      try {
        // an unreachable node was already reported by the loop above
        const info = (await clients.get(n.name)!.call('CLUSTER', 'INFO')) as string
        if (!/cluster_state:ok/.test(info)) problems.push(`${n.name}: cluster_state is not ok`)
        lines = parseClusterNodes((await clients.get(n.name)!.call('CLUSTER', 'NODES')) as string)
      } catch (err) {
        problems.push(`${n.name}: ${(err as Error).message}`)
      }
    }
    const primaries = lines.filter((l) => l.flags.includes('master') && !l.flags.includes('fail'))
    const covered = primaries.reduce((sum, p) => sum + p.slots.reduce((s, [a, b]) => s + b - a + 1, 0), 0)
    if (covered !== SLOT_COUNT) problems.push(`${covered} of ${SLOT_COUNT} slots are served by a healthy primary`)
    for (const p of primaries.filter((x) => x.slots.length)) {
      const replicas = lines.filter((l) => l.primaryId === p.id && !l.flags.includes('fail') && l.linkState === 'connected')
      if (replicas.length < replicasPerShard) problems.push(`primary ${p.address} has ${replicas.length} of ${replicasPerShard} replica(s)`)
    }
    for (const n of nodes) {
      // an unreachable node was already reported by the loop above
      const info = (await clients
        .get(n.name)!
        .info('replication')
        .catch(() => '')) as string
      if (/role:slave/.test(info) && !/master_link_status:up/.test(info)) problems.push(`${n.name}: its link to its primary is down`)
    }
  })
  return { ok: problems.length === 0, problems }
}
