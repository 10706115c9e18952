/**
 * Discovery: finding, by tags and with read-only calls only, every resource the environment
 * file names — the NATS instances, the subnets a partition cuts, the ECS cluster and services,
 * the ElastiCache groups — and the topology experiments are resolved against.
 *
 * The last discovery is kept for the synchronous parts of the contract (topology, endpoints).
 * When it failed, they throw its error — the cause (no credentials, another account, a missing
 * tag) with what to do — rather than a bare "not discovered".
 */
import { DescribeInstancesCommand, DescribeSubnetsCommand, type Filter, type Instance } from '@aws-sdk/client-ec2'
import { DescribeClustersCommand, DescribeServicesCommand, ListServicesCommand, type Service } from '@aws-sdk/client-ecs'
import type { NodeInfo, Topology } from '../../api/environment.ts'
import { DiscoveryError, TargetError } from '../../api/errors.ts'
import { logicalAz } from './azs.ts'
import type { AwsCaches, CacheInfo } from './caches.ts'
import type { AwsClients } from './clients.ts'
import type { AwsConfig } from './config.ts'
import type { AwsGuard } from './guardrails.ts'

export interface InstanceInfo {
  instanceId: string
  cluster: string
  node: string
  /** logical AZ (as experiments name it) */
  az: string
  realAz: string
  state: string
  privateIp?: string
  privateDns?: string
}

export interface SubnetInfo {
  id: string
  arn: string
  realAz: string
}

export interface ServiceInfo {
  logical: string
  ecsName: string
  arn?: string
  desired: number
  running: number
  pending: number
}

export interface Discovery {
  at: string
  clusterArn: string
  instances: InstanceInfo[]
  subnets: SubnetInfo[]
  services: Record<string, ServiceInfo>
  caches: Record<string, CacheInfo>
}

/** Instance states a node can come back from (terminated is gone for good). */
export const NON_TERMINATED = ['pending', 'running', 'stopping', 'stopped', 'shutting-down']

export function tagFilters(tags: Record<string, string>): Filter[] {
  return Object.entries(tags).map(([key, value]) => ({ Name: `tag:${key}`, Values: [value] }))
}

function tagValue(instance: Instance, key: string): string | undefined {
  return instance.Tags?.find((t) => t.Key === key)?.Value
}

export class AwsDiscovery {
  private snapshot?: Discovery
  private failure?: Error

  constructor(
    private readonly config: AwsConfig,
    private readonly clients: AwsClients,
    private readonly guard: AwsGuard,
    private readonly caches: AwsCaches,
    private readonly source: string,
  ) {}

  /** Finds everything the file names, by tags; read-only calls only. A failure is kept and rethrown by current(). */
  async discover(): Promise<Discovery> {
    try {
      this.snapshot = await this.find()
      this.failure = undefined
      return this.snapshot
    } catch (err) {
      this.failure = err as Error
      throw err
    }
  }

  /** The last discovery, or the reason there is none. */
  current(): Discovery {
    if (this.snapshot) return this.snapshot
    if (this.failure) throw this.failure
    throw new DiscoveryError(`the AWS environment ${this.source} has not been discovered yet: call up() or discover() (read-only on AWS) first`)
  }

  /** The last discovery, made now if there is none (async callers need not care). */
  async ensure(): Promise<Discovery> {
    return this.snapshot ?? (await this.discover())
  }

  /** The discovery when there is one, for what can do without it. */
  peek(): Discovery | undefined {
    return this.snapshot
  }

  private async find(): Promise<Discovery> {
    await this.guard.check()
    const cfg = this.config
    const clusters = await this.clients.ecs.send(new DescribeClustersCommand({ clusters: [cfg.ecs.cluster] }))
    const cluster = clusters.clusters?.find((c) => c.status === 'ACTIVE')
    if (!cluster?.clusterArn)
      throw new DiscoveryError(`ECS cluster ${cfg.ecs.cluster} not found (or not ACTIVE) in ${cfg.region}: check ecs.cluster and the region in ${this.source}`)
    this.guard.arn(cluster.clusterArn)

    const instances: InstanceInfo[] = []
    for (const name of Object.keys(cfg.nats)) instances.push(...(await this.instances(name)))

    const subnets: SubnetInfo[] = []
    if (cfg.subnets) {
      let nextToken: string | undefined
      do {
        const page = await this.clients.ec2.send(new DescribeSubnetsCommand({ Filters: tagFilters(cfg.subnets.tags), NextToken: nextToken }))
        for (const s of page.Subnets ?? []) {
          if (!s.SubnetId || !s.AvailabilityZone) continue
          const arn = s.SubnetArn ?? `arn:aws:ec2:${cfg.region}:${s.OwnerId ?? cfg.accountId}:subnet/${s.SubnetId}`
          this.guard.arn(arn)
          subnets.push({ id: s.SubnetId, arn, realAz: s.AvailabilityZone })
        }
        nextToken = page.NextToken
      } while (nextToken)
    }

    const services = await this.services()
    const caches: Record<string, CacheInfo> = {}
    for (const name of Object.keys(cfg.caches)) caches[name] = await this.caches.describe(name)
    return { at: new Date().toISOString(), clusterArn: cluster.clusterArn, instances, subnets, services, caches }
  }

  /** The EC2 instances of a NATS cluster (or of one node), live, in the given states. */
  async instances(cluster: string, node?: string, states = NON_TERMINATED): Promise<InstanceInfo[]> {
    const nc = this.config.nats[cluster]
    if (!nc) throw new TargetError(`unknown NATS cluster "${cluster}" (the environment has ${Object.keys(this.config.nats).join(', ') || 'none'})`)
    await this.guard.check()
    const filters = [...tagFilters(nc.instances.tags), { Name: 'instance-state-name', Values: states }]
    if (node) filters.push({ Name: `tag:${nc.instances.nodeTag}`, Values: [node] })
    const found: InstanceInfo[] = []
    let nextToken: string | undefined
    do {
      const page = await this.clients.ec2.send(new DescribeInstancesCommand({ Filters: filters, NextToken: nextToken }))
      for (const r of page.Reservations ?? []) {
        for (const i of r.Instances ?? []) {
          if (!i.InstanceId) continue
          const realAz = i.Placement?.AvailabilityZone ?? 'unknown'
          found.push({
            instanceId: i.InstanceId,
            cluster,
            node: tagValue(i, nc.instances.nodeTag) ?? i.InstanceId,
            az: logicalAz(this.config, realAz),
            realAz,
            state: i.State?.Name ?? 'unknown',
            privateIp: i.PrivateIpAddress,
            privateDns: i.PrivateDnsName,
          })
        }
      }
      nextToken = page.NextToken
    } while (nextToken)
    return found.sort((a, b) => a.node.localeCompare(b.node) || a.instanceId.localeCompare(b.instanceId))
  }

  /** Keeps what a node control learnt (a new state, a replacement instance) in the discovery. */
  updateInstance(found: InstanceInfo, replaces?: { cluster: string; node: string }): void {
    if (!this.snapshot) return
    if (replaces) this.snapshot.instances = this.snapshot.instances.filter((i) => !(i.cluster === replaces.cluster && i.node === replaces.node))
    const known = this.snapshot.instances.find((i) => i.instanceId === found.instanceId)
    if (known) known.state = found.state
    else this.snapshot.instances.push(found)
  }

  private async services(): Promise<Record<string, ServiceInfo>> {
    const cfg = this.config
    const out: Record<string, ServiceInfo> = {}
    const byName = Object.entries(cfg.ecs.services).filter(([, s]) => s.name)
    const byTags = Object.entries(cfg.ecs.services).filter(([, s]) => s.tags)
    const found: Service[] = []
    const names = byName.map(([, s]) => s.name!)
    for (let i = 0; i < names.length; i += 10) {
      const res = await this.clients.ecs.send(new DescribeServicesCommand({ cluster: cfg.ecs.cluster, services: names.slice(i, i + 10) }))
      const missing = res.failures?.map((f) => `${f.arn}: ${f.reason}`) ?? []
      if (missing.length) throw new DiscoveryError(`ECS services not found in ${cfg.ecs.cluster}: ${missing.join(', ')} (check ecs.services in ${this.source})`)
      found.push(...(res.services ?? []))
    }
    if (byTags.length) {
      const arns: string[] = []
      let nextToken: string | undefined
      do {
        const page = await this.clients.ecs.send(new ListServicesCommand({ cluster: cfg.ecs.cluster, nextToken }))
        arns.push(...(page.serviceArns ?? []))
        nextToken = page.nextToken
      } while (nextToken)
      for (let i = 0; i < arns.length; i += 10) {
        const res = await this.clients.ecs.send(new DescribeServicesCommand({ cluster: cfg.ecs.cluster, services: arns.slice(i, i + 10), include: ['TAGS'] }))
        for (const svc of res.services ?? []) {
          for (const [logical, ref] of byTags) {
            const matches = Object.entries(ref.tags!).every(([k, v]) => svc.tags?.some((t) => t.key === k && t.value === v))
            if (!matches) continue
            if (out[logical])
              throw new TargetError(`ECS service tags of "${logical}" match more than one service (${out[logical].ecsName}, ${svc.serviceName})`)
            out[logical] = this.serviceInfo(logical, svc)
          }
        }
      }
      for (const [logical, ref] of byTags) {
        if (!out[logical]) throw new DiscoveryError(`no ECS service in ${cfg.ecs.cluster} carries the tags of "${logical}" (${JSON.stringify(ref.tags)})`)
      }
    }
    for (const [logical, ref] of byName) {
      const svc = found.find((s) => s.serviceName === ref.name)
      if (!svc) throw new DiscoveryError(`ECS service ${ref.name} (for "${logical}") not found in ${cfg.ecs.cluster}`)
      out[logical] = this.serviceInfo(logical, svc)
    }
    return out
  }

  serviceInfo(logical: string, svc: Service): ServiceInfo {
    if (svc.serviceArn) this.guard.arn(svc.serviceArn)
    const info = {
      logical,
      ecsName: svc.serviceName ?? logical,
      arn: svc.serviceArn,
      desired: svc.desiredCount ?? 0,
      running: svc.runningCount ?? 0,
      pending: svc.pendingCount ?? 0,
    }
    if (this.snapshot?.services[logical]) this.snapshot.services[logical] = info
    return info
  }

  /** The ECS service name of a logical service: by name from the file, or as discovery found it by tags. */
  ecsServiceName(logical: string): string {
    const found = this.snapshot?.services[logical]
    if (found) return found.ecsName
    const ref = this.config.ecs.services[logical]
    if (!ref) throw new TargetError(`unknown service "${logical}" (the environment has ${Object.keys(this.config.ecs.services).join(', ') || 'none'})`)
    if (ref.name) return ref.name
    if (this.failure) throw this.failure
    throw new DiscoveryError(`service "${logical}" is found by tags: discover the environment first`)
  }

  topology(): Topology {
    const d = this.current()
    const cfg = this.config
    const azs = cfg.azs ? Object.keys(cfg.azs) : [...new Set([...d.instances.map((i) => i.realAz), ...d.subnets.map((s) => s.realAz)])].sort()
    const clusters: Topology['clusters'] = {}
    for (const name of Object.keys(cfg.nats)) {
      const seen = new Map<string, NodeInfo>()
      for (const i of d.instances.filter((x) => x.cluster === name))
        if (!seen.has(i.node) || i.state === 'running') seen.set(i.node, { cluster: name, name: i.node, az: i.az })
      clusters[name] = { name, nodes: [...seen.values()] }
    }
    const caches: Topology['caches'] = {}
    for (const [name, c] of Object.entries(d.caches)) {
      const primary = c.members.find((m) => m.role === 'primary')
      caches[name] = { name: c.replicationGroupId, ...(primary ? { az: primary.az } : {}) }
    }
    const services: Topology['services'] = {}
    for (const [name, s] of Object.entries(d.services)) services[name] = { name, desired: s.desired }
    return { azs, clusters, caches, services }
  }
}
