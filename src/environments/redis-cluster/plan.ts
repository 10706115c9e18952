/**
 * A Redis Cluster as an environment file asks for it — `mode: cluster`, `shards`,
 * `replicasPerShard`, `auth`, `tls` — and the nodes that make it: each shard a primary and its
 * replicas, the replicas in other AZs than their primary (an AZ lost takes a primary or its
 * replica, never both), the 16384 slots split evenly over the shards.
 *
 * Node names say where a node started (`cache-s2-0` the primary of shard 2 at creation,
 * `cache-s2-1` its first replica), never its role now: roles change on every failover, and
 * `shardsOf` (topology.ts) reads them live.
 */
import { z } from 'zod'
import { Duration } from '../../api/duration.ts'
import { RedisPersistence, redisPersistenceArgs } from '../redis-persistence.ts'

export const SLOT_COUNT = 16384

export const RedisClusterConfig = z.strictObject({
  mode: z.literal('cluster').describe('a Redis Cluster: several shards, each a primary with replicas'),
  shards: z.int().min(1).max(16).default(3).describe('primaries, each owning an even share of the 16384 slots'),
  replicasPerShard: z.int().min(0).max(4).default(1).describe('replicas per primary, placed in other AZs than the primary'),
  azs: z.array(z.string().min(1)).min(1).optional().describe("AZs to spread the nodes over (default: the environment's NATS AZs)"),
  auth: z.boolean().default(false).describe('require a password (requirepass / masterauth), made at env up'),
  tls: z.boolean().default(false).describe("TLS on client, replication and cluster-bus connections, with certificates from the environment's CA"),
  nodeTimeout: Duration.prefault('2s').describe('cluster-node-timeout: how long a primary may be unreachable before its replica takes over'),
  minReplicasToWrite: z
    .int()
    .min(0)
    .max(4)
    .default(0)
    .describe('min-replicas-to-write on every primary: refuse writes unless this many replicas are connected (0: off, the Redis default)'),
  minReplicasMaxLag: Duration.prefault('2s').describe('min-replicas-max-lag: a replica counts only if it acknowledged within this long'),
  persistence: RedisPersistence,
})
export type RedisClusterConfig = z.infer<typeof RedisClusterConfig>

export interface ClusterNodePlan {
  /** `<cache>-s<shard>-<index>`: index 0 is the primary at creation */
  name: string
  cache: string
  /** 1-based shard number */
  shard: number
  az: string
  initialRole: 'primary' | 'replica'
  /** slot ranges a primary takes at creation (inclusive) */
  slots: [number, number][]
}

/** The slot range of shard k (0-based) of n: an even split, the remainder spread over the first shards. */
export function slotRange(k: number, n: number): [number, number] {
  return [Math.floor((k * SLOT_COUNT) / n), Math.floor(((k + 1) * SLOT_COUNT) / n) - 1]
}

export function planClusterNodes(cache: string, config: Pick<RedisClusterConfig, 'shards' | 'replicasPerShard'>, azs: string[]): ClusterNodePlan[] {
  if (!azs.length) throw new Error(`cache ${cache}: no AZ to place the cluster's nodes in`)
  if (config.replicasPerShard > 0 && azs.length < config.replicasPerShard + 1)
    throw new Error(
      `cache ${cache}: ${config.replicasPerShard} replica(s) per shard in other AZs than their primary need ${config.replicasPerShard + 1} AZs, the environment has ${azs.length} (${azs.join(', ')}): add azs: or lower replicasPerShard`,
    )
  const nodes: ClusterNodePlan[] = []
  for (let k = 0; k < config.shards; k++) {
    for (let i = 0; i <= config.replicasPerShard; i++) {
      nodes.push({
        name: `${cache}-s${k + 1}-${i}`,
        cache,
        shard: k + 1,
        az: azs[(k + i) % azs.length],
        initialRole: i === 0 ? 'primary' : 'replica',
        slots: i === 0 ? [slotRange(k, config.shards)] : [],
      })
    }
  }
  return nodes
}

/** Where one node listens and what it tells the others, for its redis-server command line. */
export interface ClusterNodeAddress {
  /** the address the process binds (local: its own loopback IP, so its outbound connections can be told apart) */
  bindHost: string
  port: number
  busPort: number
  /** the IP it announces to the cluster and to clients (MOVED, CLUSTER SLOTS): a gate's; absent, the peers see its own */
  announceHost?: string
  /** a name it announces instead of its IP to clients (a container's name on its network, which its certificate carries) */
  announceHostname?: string
  announcePort: number
  announceBusPort: number
  dir: string
}

export interface ClusterSecrets {
  password?: string
  tls?: { caFile: string; certFile: string; keyFile: string }
}

/** redis-server arguments of one cluster node (after which `redis-server` needs nothing else). */
export function clusterNodeArgs(
  node: ClusterNodePlan,
  at: ClusterNodeAddress,
  config: Pick<RedisClusterConfig, 'nodeTimeout' | 'minReplicasToWrite' | 'minReplicasMaxLag' | 'persistence'>,
  secrets: ClusterSecrets,
): string[] {
  const args = [
    '--bind',
    at.bindHost,
    // outbound replication and cluster-bus connections leave from the node's own address (a container has one of its own)
    ...(at.bindHost !== '0.0.0.0' ? ['--bind-source-addr', at.bindHost] : []),
    '--protected-mode',
    'no',
    '--dir',
    at.dir,
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    'nodes.conf',
    '--cluster-node-timeout',
    String(config.nodeTimeout),
    '--cluster-port',
    String(at.busPort),
    ...(at.announceHost ? ['--cluster-announce-ip', at.announceHost] : []),
    ...(at.announceHostname ? ['--cluster-announce-hostname', at.announceHostname, '--cluster-preferred-endpoint-type', 'hostname'] : []),
    '--cluster-announce-bus-port',
    String(at.announceBusPort),
    // a replica with a stale copy still takes over (the default factor 10 × node timeout refuses it)
    '--cluster-replica-validity-factor',
    '0',
    '--cluster-allow-replica-migration',
    'no',
    '--min-replicas-to-write',
    String(config.minReplicasToWrite),
    '--min-replicas-max-lag',
    String(Math.max(1, Math.round(config.minReplicasMaxLag / 1000))),
    // a replica's first sync starts at once (the default waits 5 s for more replicas to share it)
    '--repl-diskless-sync-delay',
    '0',
    ...redisPersistenceArgs(config.persistence),
  ]
  if (secrets.tls) {
    args.push(
      '--port',
      '0',
      '--tls-port',
      String(at.port),
      '--cluster-announce-tls-port',
      String(at.announcePort),
      '--tls-cert-file',
      secrets.tls.certFile,
      '--tls-key-file',
      secrets.tls.keyFile,
      '--tls-ca-cert-file',
      secrets.tls.caFile,
      '--tls-cluster',
      'yes',
      '--tls-replication',
      'yes',
      '--tls-auth-clients',
      'optional',
    )
  } else {
    args.push('--port', String(at.port), '--cluster-announce-port', String(at.announcePort))
  }
  if (secrets.password) args.push('--requirepass', secrets.password, '--masterauth', secrets.password)
  return args
}
