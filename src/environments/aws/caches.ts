/**
 * The caches part on AWS: ElastiCache replication groups, read with DescribeReplicationGroups
 * (members, their AZs and roles, Multi-AZ, failover) and failed over with TestFailover. AWS
 * cannot kill a cache server, so this part is the AWS capability's `elasticache`, not the
 * environment's `caches` control: `redis.kill` is refused and `redis.failover` /
 * `redis.az-power` are the AWS faults on a cache.
 */
import { DescribeReplicationGroupsCommand, TestFailoverCommand } from '@aws-sdk/client-elasticache'
import type { AwsElastiCache, CacheGroupInfo } from '../../api/aws.ts'
import { TargetError } from '../../api/errors.ts'
import { logicalAz } from './azs.ts'
import type { AwsClients } from './clients.ts'
import type { AwsConfig, CacheConfig } from './config.ts'
import type { AwsGuard } from './guardrails.ts'
import { pollUntil } from './poll.ts'

/** A replication group as discovery keeps it: what faults see, and the endpoints probes use. */
export interface CacheInfo extends CacheGroupInfo {
  arn?: string
  clusterEnabled: boolean
  primaryHost?: string
  primaryPort?: number
  readerHost?: string
}

/**
 * ElastiCache's `Slots` of a node group ("0-5460", ranges joined by commas; a single slot alone)
 * as inclusive ranges. A group without cluster mode has no Slots: it serves them all.
 */
export function parseSlots(slots: string | undefined): [number, number][] {
  if (!slots) return [[0, 16383]]
  return slots.split(',').map((part) => {
    const [a, b = a] = part.trim().split('-').map(Number)
    if (!Number.isInteger(a) || !Number.isInteger(b)) throw new TargetError(`ElastiCache reported node group slots "${slots}", which Gameday cannot read`)
    return [a, b]
  })
}

export class AwsCaches implements AwsElastiCache {
  constructor(
    private readonly config: AwsConfig,
    private readonly clients: Pick<AwsClients, 'elasticache'>,
    private readonly guard: AwsGuard,
  ) {}

  cacheConfig(cache: string): CacheConfig {
    const cc = this.config.caches[cache]
    if (!cc) throw new TargetError(`unknown cache "${cache}" (the environment has ${Object.keys(this.config.caches).join(', ') || 'none'})`)
    return cc
  }

  /** DescribeReplicationGroups for a logical cache: members, their AZs, Multi-AZ. */
  async describe(cache: string): Promise<CacheInfo> {
    const cc = this.cacheConfig(cache)
    await this.guard.check()
    const res = await this.clients.elasticache.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: cc.replicationGroupId }))
    const rg = res.ReplicationGroups?.[0]
    if (!rg) throw new TargetError(`ElastiCache replication group ${cc.replicationGroupId} not found`)
    if (rg.ARN) this.guard.arn(rg.ARN)
    const members = (rg.NodeGroups ?? []).flatMap((g) =>
      (g.NodeGroupMembers ?? []).map((m) => {
        const realAz = m.PreferredAvailabilityZone ?? 'unknown'
        return { id: m.CacheClusterId ?? '?', az: logicalAz(this.config, realAz), realAz, role: m.CurrentRole ?? 'unknown', nodeGroup: g.NodeGroupId }
      }),
    )
    const group = rg.NodeGroups?.[0]
    return {
      cache,
      replicationGroupId: cc.replicationGroupId,
      arn: rg.ARN,
      status: rg.Status ?? 'unknown',
      multiAz: rg.MultiAZ === 'enabled',
      automaticFailover: rg.AutomaticFailover === 'enabled',
      clusterEnabled: rg.ClusterEnabled ?? false,
      ...(cc.fisTargetTags ? { fisTargetTags: cc.fisTargetTags } : {}),
      primaryHost: rg.ConfigurationEndpoint?.Address ?? group?.PrimaryEndpoint?.Address,
      primaryPort: rg.ConfigurationEndpoint?.Port ?? group?.PrimaryEndpoint?.Port,
      readerHost: group?.ReaderEndpoint?.Address,
      members,
      nodeGroups: (rg.NodeGroups ?? []).map((g) => ({ id: g.NodeGroupId ?? '?', slots: parseSlots(g.Slots) })),
    }
  }

  describeTestFailover(cache: string, nodeGroup: string): string {
    return `elasticache:TestFailover ReplicationGroupId=${this.cacheConfig(cache).replicationGroupId} NodeGroupId=${nodeGroup}`
  }

  async testFailover(cache: string, nodeGroup: string): Promise<void> {
    const id = this.cacheConfig(cache).replicationGroupId
    await this.guard.check()
    await this.clients.elasticache.send(new TestFailoverCommand({ ReplicationGroupId: id, NodeGroupId: nodeGroup }))
  }

  /** Polls DescribeReplicationGroups until the group is available with every member's role known. */
  async waitAvailable(cache: string, timeoutMs: number, signal?: AbortSignal): Promise<CacheInfo> {
    let last: CacheInfo | undefined
    return pollUntil(
      this.config,
      async () => {
        last = await this.describe(cache)
        return last.status === 'available' && last.members.length && last.members.every((m) => m.role !== 'unknown') ? last : undefined
      },
      { timeoutMs, signal, timeoutMessage: (ms) => `cache ${cache} (${last?.replicationGroupId}) still ${last?.status ?? 'unknown'} after ${ms}ms` },
    )
  }
}
