/**
 * `--env aws`: the game-day deployment on AWS, found by tags and driven through the real SDK.
 *
 *   NATS nodes   EC2 instances (StopInstances [Force] / TerminateInstances / StartInstances)
 *   services     ECS Fargate services (ListTasks / DescribeTasks / StopTask / DescribeServices)
 *   partitions   FIS aws:network:disrupt-connectivity (scope availability-zone) on an AZ's subnets
 *   Redis links  FIS aws:ecs:task-network-latency / -blackhole-port on the services' tasks
 *
 * Guardrails: every call first passes the allow-list (file, client regions and the caller's
 * account through STS); `up()` discovers and verifies, it never creates anything; `down()`
 * leaves AWS alone; blast-radius limits are checked at plan and again at injection against
 * the live counts. Everything gameday creates in FIS carries the run id as a tag, so a
 * crashed run is healed by `gameday recover` from the tags alone.
 */
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch'
import {
  DescribeInstancesCommand,
  DescribeSubnetsCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type Filter,
  type Instance,
} from '@aws-sdk/client-ec2'
import {
  DescribeClustersCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ListServicesCommand,
  ListTasksCommand,
  StopTaskCommand,
  type Service,
} from '@aws-sdk/client-ecs'
import { DescribeReplicationGroupsCommand } from '@aws-sdk/client-elasticache'
import { GetExperimentTemplateCommand, type ExperimentTemplate } from '@aws-sdk/client-fis'
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts'
import { credsAuthenticator, nkeyAuthenticator, tokenAuthenticator, usernamePasswordAuthenticator } from '@nats-io/nats-core'
import type {
  Capability,
  CacheDegradation,
  Guardrails,
  NodeAction,
  Endpoints,
  Environment,
  EnvironmentStatus,
  Logger,
  NetworkControl,
  NodeControl,
  NodeInfo,
  PartitionSpec,
  RedisEndpoint,
  TaskControl,
  TaskInfo,
  Topology,
} from '../../api/environment.ts'
import { AllowListError, BlastRadiusError, GamedayError, TargetError, ValidationError } from '../../api/errors.ts'
import type { Json, ResolvedTarget } from '../../api/fault.ts'
import { sleep, TimeoutError } from '../../util/abort.ts'
import { CLIENT_NAMES, clientRegion, createClients, type AwsClients } from './clients.ts'
import {
  checkArnAllowed,
  checkConfigAllowList,
  configDir,
  limitsFor,
  loadAwsConfig,
  readSecret,
  resolveFilePath,
  type AwsConfig,
  type CacheConfig,
} from './config.ts'
import { describeNodeAction as describeProcessNodeAction } from '../topology.ts'
import { buildTemplate, describeTemplateRun, FisRunner, isoDuration, type FisState, type TemplateParts } from './fis.ts'

// ── what discovery finds ───────────────────────────────────────────────────────────────────

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

export interface CacheInfo {
  logical: string
  replicationGroupId: string
  arn?: string
  status: string
  multiAz: boolean
  automaticFailover: boolean
  clusterEnabled: boolean
  primaryHost?: string
  primaryPort?: number
  readerHost?: string
  members: { id: string; realAz: string; role: string; nodeGroup?: string }[]
}

export interface Discovery {
  at: string
  clusterArn: string
  instances: InstanceInfo[]
  subnets: SubnetInfo[]
  services: Record<string, ServiceInfo>
  caches: Record<string, CacheInfo>
}

export interface AwsEnvironmentOptions {
  /** the environment file it came from */
  source?: string
  /** clients to use instead of real ones (tests pass mocked ones) */
  clients?: Partial<AwsClients>
  /** folder relative secret and TLS paths are resolved from (default: the file's folder) */
  baseDir?: string
}

/** The facts partition() works from, computed without any call. */
export interface PartitionPlan {
  cluster: string
  /** logical AZs whose subnets are cut from the other AZs */
  azs: string[]
  realAzs: string[]
  subnets: SubnetInfo[]
}

const NON_TERMINATED = ['pending', 'running', 'stopping', 'stopped', 'shutting-down']
const FAULT_PARTITION = 'network.partition'
const FAULT_CACHE = 'redis.degrade'

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

function tagFilters(tags: Record<string, string>): Filter[] {
  return Object.entries(tags).map(([key, value]) => ({ Name: `tag:${key}`, Values: [value] }))
}

function tagValue(instance: Instance, key: string): string | undefined {
  return instance.Tags?.find((t) => t.Key === key)?.Value
}

export class AwsEnvironment implements Environment {
  readonly kind = 'aws' as const
  readonly source: string
  readonly clients: AwsClients
  readonly fisRunner: FisRunner
  private readonly baseDir?: string
  private identityCheck?: Promise<void>
  private snapshot?: Discovery

  constructor(
    readonly config: AwsConfig,
    opts: AwsEnvironmentOptions = {},
  ) {
    checkConfigAllowList(config)
    this.source = opts.source ?? '<aws>'
    this.baseDir = opts.baseDir ?? (opts.source ? configDir(opts.source) : undefined)
    this.clients = createClients(config.region, opts.clients)
    this.fisRunner = new FisRunner(this.clients.fis, {
      pollMs: config.pollInterval,
      startTimeoutMs: config.timeouts.fisStart,
      stopTimeoutMs: config.timeouts.fisStop,
      guard: () => this.guard(),
    })
  }

  // ── guardrails ───────────────────────────────────────────────────────────────────────────

  /**
   * The allow-list, checked before any call: the file (region, account, cluster), the region
   * every client is configured for, and — with one read-only STS call, made once — the
   * account the credentials belong to.
   */
  async guard(): Promise<void> {
    checkConfigAllowList(this.config)
    this.identityCheck ??= this.checkIdentity()
    try {
      await this.identityCheck
    } catch (err) {
      this.identityCheck = undefined
      throw err
    }
  }

  private async checkIdentity(): Promise<void> {
    for (const name of CLIENT_NAMES) {
      const region = await clientRegion(this.clients[name])
      if (region !== this.config.region) {
        throw new AllowListError(`the ${name} client is configured for region ${region ?? '(none)'}, not ${this.config.region}`)
      }
    }
    const identity = await this.clients.sts.send(new GetCallerIdentityCommand({}))
    const account = identity.Account
    if (!account || !this.config.allow.accounts.includes(account)) {
      throw new AllowListError(
        `the AWS credentials belong to account ${account ?? '(unknown)'}, which is not in allow.accounts [${this.config.allow.accounts.join(', ')}]`,
      )
    }
    if (account !== this.config.accountId) {
      throw new AllowListError(`the AWS credentials belong to account ${account}, but the environment file is for ${this.config.accountId}`)
    }
  }

  async checkBlastRadius(faultType: string, targets: ResolvedTarget[], when: 'plan' | 'inject'): Promise<void> {
    // targets in different waves are hit one after another (a rolling restart): each wave is checked alone
    const waves = new Map<number, ResolvedTarget[]>()
    for (const t of targets) waves.set(t.wave ?? 0, [...(waves.get(t.wave ?? 0) ?? []), t])
    if (waves.size > 1) {
      for (const wave of waves.values()) await this.checkBlastRadius(faultType, wave, when)
      return
    }
    const limits = limitsFor(this.config, faultType)
    const at = when === 'plan' ? 'at plan' : 'at injection'
    const azTargets = targets.filter((t) => t.kind === 'az')
    if (azTargets.length) {
      const azs = new Set(azTargets.map((t) => t.id))
      if (azs.size > limits.maxAzs) {
        throw new BlastRadiusError(`${faultType} would hit ${azs.size} AZs (${[...azs].join(', ')}) ${at}; the limit is maxAzs=${limits.maxAzs}`)
      }
      const all = this.snapshot ? this.topology().azs : []
      if (all.length && [...azs].length >= all.length) throw new BlastRadiusError(`${faultType} would hit every AZ (${all.join(', ')}) ${at}`)
    } else if (faultType.startsWith('network.')) {
      // a network fault given as nodes cuts the AZs those nodes live in, not instances
      const azs = new Set(targets.filter((t) => t.kind === 'node' && typeof t.az === 'string').map((t) => t.az as string))
      if (azs.size > limits.maxAzs) {
        throw new BlastRadiusError(`${faultType} would cut ${azs.size} AZs (${[...azs].join(', ')}) ${at}; the limit is maxAzs=${limits.maxAzs}`)
      }
    } else {
      const nodes = targets.filter((t) => t.kind === 'node')
      if (nodes.length > limits.maxInstances) {
        throw new BlastRadiusError(
          `${faultType} would stop ${nodes.length} EC2 instances (${nodes.map((n) => n.id).join(', ')}) ${at}; the limit is maxInstances=${limits.maxInstances}`,
        )
      }
    }
    const tasks = targets.filter((t) => t.kind === 'task')
    if (tasks.length > limits.maxTasks) {
      throw new BlastRadiusError(`${faultType} would stop ${tasks.length} tasks ${at}; the limit is maxTasks=${limits.maxTasks}`)
    }
    const byService = new Map<string, number>()
    for (const t of tasks) {
      const service = typeof t.service === 'string' ? t.service : undefined
      if (!service) throw new BlastRadiusError(`${faultType}: task target ${t.id} names no service, so its share cannot be checked`)
      byService.set(service, (byService.get(service) ?? 0) + 1)
    }
    for (const [service, count] of byService) {
      const live = await this.serviceCounts(service)
      const percent = live.running === 0 ? 100 : (count / live.running) * 100
      const emptiesService = count >= live.running && limits.maxTaskPercent < 100
      if (emptiesService || percent > limits.maxTaskPercent) {
        throw new BlastRadiusError(
          `${faultType} would stop ${count} of the ${live.running} running tasks of ${service} (${percent.toFixed(0)}%) ${at}; the limit is maxTaskPercent=${limits.maxTaskPercent}` +
            (emptiesService ? ' (a service must keep at least one task)' : ''),
        )
      }
    }
  }

  async alarmsFiring(alarms: string[]): Promise<string[]> {
    if (!alarms.length) return []
    await this.guard()
    const nameOf = (alarm: string) => (alarm.startsWith('arn:') ? (alarm.split(':alarm:')[1] ?? alarm) : alarm)
    for (const alarm of alarms) if (alarm.startsWith('arn:')) checkArnAllowed(this.config, alarm)
    const firing = new Set<string>()
    for (const names of chunk([...new Set(alarms.map(nameOf))], 100)) {
      let nextToken: string | undefined
      do {
        const page = await this.clients.cloudwatch.send(
          new DescribeAlarmsCommand({ AlarmNames: names, StateValue: 'ALARM', AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], NextToken: nextToken }),
        )
        for (const a of [...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? [])]) if (a.AlarmName) firing.add(a.AlarmName)
        nextToken = page.NextToken
      } while (nextToken)
    }
    return alarms.filter((a) => firing.has(nameOf(a)))
  }

  // ── discovery ────────────────────────────────────────────────────────────────────────────

  /** Finds everything the file names, by tags; read-only calls only. */
  async discover(): Promise<Discovery> {
    await this.guard()
    const cfg = this.config
    const clusters = await this.clients.ecs.send(new DescribeClustersCommand({ clusters: [cfg.ecs.cluster] }))
    const cluster = clusters.clusters?.find((c) => c.status === 'ACTIVE')
    if (!cluster?.clusterArn) throw new TargetError(`ECS cluster ${cfg.ecs.cluster} not found (or not ACTIVE) in ${cfg.region}`)
    checkArnAllowed(cfg, cluster.clusterArn)

    const instances: InstanceInfo[] = []
    for (const name of Object.keys(cfg.nats)) instances.push(...(await this.describeNodeInstances(name)))

    const subnets: SubnetInfo[] = []
    if (cfg.subnets) {
      let nextToken: string | undefined
      do {
        const page = await this.clients.ec2.send(new DescribeSubnetsCommand({ Filters: tagFilters(cfg.subnets.tags), NextToken: nextToken }))
        for (const s of page.Subnets ?? []) {
          if (!s.SubnetId || !s.AvailabilityZone) continue
          const arn = s.SubnetArn ?? `arn:aws:ec2:${cfg.region}:${s.OwnerId ?? cfg.accountId}:subnet/${s.SubnetId}`
          checkArnAllowed(cfg, arn)
          subnets.push({ id: s.SubnetId, arn, realAz: s.AvailabilityZone })
        }
        nextToken = page.NextToken
      } while (nextToken)
    }

    const services = await this.describeServices()
    const caches: Record<string, CacheInfo> = {}
    for (const name of Object.keys(cfg.caches)) caches[name] = await this.describeCache(name)

    this.snapshot = { at: new Date().toISOString(), clusterArn: cluster.clusterArn, instances, subnets, services, caches }
    return this.snapshot
  }

  /** The last discovery, or an error saying how to get one. */
  discovery(): Discovery {
    if (!this.snapshot) {
      throw new GamedayError(`the AWS environment ${this.source} has not been discovered yet: call up() (read-only on AWS) or discover() first`)
    }
    return this.snapshot
  }

  private async describeNodeInstances(cluster: string, node?: string, states = NON_TERMINATED): Promise<InstanceInfo[]> {
    const nc = this.config.nats[cluster]
    if (!nc) throw new TargetError(`unknown NATS cluster "${cluster}" (the environment has ${Object.keys(this.config.nats).join(', ') || 'none'})`)
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
            az: this.logicalAz(realAz),
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

  private async describeServices(): Promise<Record<string, ServiceInfo>> {
    const cfg = this.config
    const out: Record<string, ServiceInfo> = {}
    const byName = Object.entries(cfg.ecs.services).filter(([, s]) => s.name)
    const byTags = Object.entries(cfg.ecs.services).filter(([, s]) => s.tags)
    const found: Service[] = []
    for (const names of chunk(
      byName.map(([, s]) => s.name!),
      10,
    )) {
      const res = await this.clients.ecs.send(new DescribeServicesCommand({ cluster: cfg.ecs.cluster, services: names }))
      const missing = res.failures?.map((f) => `${f.arn}: ${f.reason}`) ?? []
      if (missing.length) throw new TargetError(`ECS services not found in ${cfg.ecs.cluster}: ${missing.join(', ')}`)
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
      for (const batch of chunk(arns, 10)) {
        const res = await this.clients.ecs.send(new DescribeServicesCommand({ cluster: cfg.ecs.cluster, services: batch, include: ['TAGS'] }))
        for (const svc of res.services ?? []) {
          for (const [logical, ref] of byTags) {
            const matches = Object.entries(ref.tags!).every(([k, v]) => svc.tags?.some((t) => t.key === k && t.value === v))
            if (matches) {
              if (out[logical])
                throw new TargetError(`ECS service tags of "${logical}" match more than one service (${out[logical].ecsName}, ${svc.serviceName})`)
              out[logical] = this.serviceInfo(logical, svc)
            }
          }
        }
      }
      for (const [logical] of byTags) if (!out[logical]) throw new TargetError(`no ECS service in ${cfg.ecs.cluster} carries the tags of "${logical}"`)
    }
    for (const [logical, ref] of byName) {
      const svc = found.find((s) => s.serviceName === ref.name)
      if (!svc) throw new TargetError(`ECS service ${ref.name} (for "${logical}") not found in ${cfg.ecs.cluster}`)
      out[logical] = this.serviceInfo(logical, svc)
    }
    return out
  }

  private serviceInfo(logical: string, svc: Service): ServiceInfo {
    if (svc.serviceArn) checkArnAllowed(this.config, svc.serviceArn)
    return {
      logical,
      ecsName: svc.serviceName ?? logical,
      arn: svc.serviceArn,
      desired: svc.desiredCount ?? 0,
      running: svc.runningCount ?? 0,
      pending: svc.pendingCount ?? 0,
    }
  }

  /** DescribeReplicationGroups for a logical cache: members, their AZs, Multi-AZ. */
  async describeCache(logical: string): Promise<CacheInfo> {
    const cc = this.cacheConfig(logical)
    await this.guard()
    const res = await this.clients.elasticache.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: cc.replicationGroupId }))
    const rg = res.ReplicationGroups?.[0]
    if (!rg) throw new TargetError(`ElastiCache replication group ${cc.replicationGroupId} not found`)
    if (rg.ARN) checkArnAllowed(this.config, rg.ARN)
    const members = (rg.NodeGroups ?? []).flatMap((g) =>
      (g.NodeGroupMembers ?? []).map((m) => ({
        id: m.CacheClusterId ?? '?',
        realAz: m.PreferredAvailabilityZone ?? 'unknown',
        role: m.CurrentRole ?? 'unknown',
        nodeGroup: g.NodeGroupId,
      })),
    )
    const group = rg.NodeGroups?.[0]
    return {
      logical,
      replicationGroupId: cc.replicationGroupId,
      arn: rg.ARN,
      status: rg.Status ?? 'unknown',
      multiAz: rg.MultiAZ === 'enabled',
      automaticFailover: rg.AutomaticFailover === 'enabled',
      clusterEnabled: rg.ClusterEnabled ?? false,
      primaryHost: rg.ConfigurationEndpoint?.Address ?? group?.PrimaryEndpoint?.Address,
      primaryPort: rg.ConfigurationEndpoint?.Port ?? group?.PrimaryEndpoint?.Port,
      readerHost: group?.ReaderEndpoint?.Address,
      members,
    }
  }

  cacheConfig(logical: string): CacheConfig {
    const cc = this.config.caches[logical]
    if (!cc) throw new TargetError(`unknown cache "${logical}" (the environment has ${Object.keys(this.config.caches).join(', ') || 'none'})`)
    return cc
  }

  /** AWS AZ name → the logical name experiments use. */
  logicalAz(realAz: string): string {
    for (const [logical, real] of Object.entries(this.config.azs ?? {})) if (real === realAz) return logical
    return realAz
  }

  /** Logical AZ name → AWS AZ name. */
  realAz(logical: string): string {
    const mapped = this.config.azs?.[logical]
    if (mapped) return mapped
    if (logical.startsWith(this.config.region)) return logical
    throw new TargetError(`unknown AZ "${logical}" (known: ${Object.keys(this.config.azs ?? {}).join(', ') || 'AWS AZ names of ' + this.config.region})`)
  }

  // ── Environment ──────────────────────────────────────────────────────────────────────────

  topology(): Topology {
    const d = this.discovery()
    const azs = this.config.azs ? Object.keys(this.config.azs) : [...new Set([...d.instances.map((i) => i.realAz), ...d.subnets.map((s) => s.realAz)])].sort()
    const clusters: Topology['clusters'] = {}
    for (const name of Object.keys(this.config.nats)) {
      const seen = new Map<string, NodeInfo>()
      for (const i of d.instances.filter((x) => x.cluster === name))
        if (!seen.has(i.node) || i.state === 'running') seen.set(i.node, { cluster: name, name: i.node, az: i.az })
      clusters[name] = { name, nodes: [...seen.values()] }
    }
    const caches: Topology['caches'] = {}
    for (const [name, c] of Object.entries(d.caches)) {
      const primary = c.members.find((m) => m.role === 'primary')
      caches[name] = { name: c.replicationGroupId, ...(primary ? { az: this.logicalAz(primary.realAz) } : {}) }
    }
    const services: Topology['services'] = {}
    for (const [name, s] of Object.entries(d.services)) services[name] = { name, desired: s.desired }
    return { azs, clusters, caches, services }
  }

  /** the AWS services behind the AWS-only faults (key: capability('aws')) */
  capability<T>(key: Capability<T>): T | undefined {
    return key.name === 'aws' ? (this as unknown as T) : undefined
  }

  /** blast radius, alarms and confirmation: every fault passes here at plan and at injection */
  readonly guardrails: Guardrails = {
    requiresConfirmation: true,
    checkBlastRadius: (faultType, targets, when) => this.checkBlastRadius(faultType, targets, when),
    alarmsFiring: (alarms) => this.alarmsFiring(alarms),
  }

  async isUp(): Promise<boolean> {
    try {
      await this.discover()
      return true
    } catch {
      return false
    }
  }

  /** Verifies access and finds every resource; creates nothing. */
  async up(log: Logger): Promise<void> {
    const d = await this.discover()
    const cfg = this.config
    for (const name of Object.keys(cfg.nats)) {
      const nodes = d.instances.filter((i) => i.cluster === name)
      if (!nodes.length) throw new TargetError(`no EC2 instance carries the tags of NATS cluster "${name}" (${JSON.stringify(cfg.nats[name].instances.tags)})`)
      log.info(`aws: NATS ${name}: ${nodes.map((n) => `${n.node}=${n.instanceId}@${n.az}(${n.state})`).join(' ')}`)
    }
    if (cfg.subnets) {
      if (!d.subnets.length) throw new TargetError(`no subnet carries the tags ${JSON.stringify(cfg.subnets.tags)}`)
      log.info(`aws: subnets: ${d.subnets.map((s) => `${s.id}@${this.logicalAz(s.realAz)}`).join(' ')}`)
    }
    for (const s of Object.values(d.services)) log.info(`aws: service ${s.logical} = ${s.ecsName}: ${s.running}/${s.desired} running`)
    for (const c of Object.values(d.caches)) log.info(`aws: cache ${c.logical} = ${c.replicationGroupId}: ${c.status}, multi-AZ ${c.multiAz ? 'on' : 'off'}`)
    if (cfg.stopConditions.length) {
      const firing = await this.alarmsFiring(cfg.stopConditions)
      if (firing.length) log.warn(`aws: stop-condition alarms already firing (FIS will refuse to start): ${firing.join(', ')}`)
    } else log.warn('aws: no stopConditions: FIS templates will run with stop condition "none"')
  }

  /** Game days never create or delete infrastructure: nothing to tear down. */
  async down(log: Logger): Promise<void> {
    log.info('aws: nothing to tear down (the AWS environment is found, never created)')
  }

  async status(): Promise<EnvironmentStatus> {
    try {
      const d = await this.discover()
      const lines: EnvironmentStatus['lines'] = []
      for (const i of d.instances) lines.push({ what: `nats ${i.cluster}/${i.node}`, state: i.state, detail: `${i.instanceId} ${i.az}` })
      for (const s of Object.values(d.services))
        lines.push({
          what: `service ${s.logical}`,
          state: s.running >= s.desired ? 'up' : 'degraded',
          detail: `${s.running}/${s.desired} running (${s.ecsName})`,
        })
      for (const c of Object.values(d.caches)) lines.push({ what: `cache ${c.logical}`, state: c.status, detail: c.replicationGroupId })
      return { up: lines.every((l) => ['running', 'up', 'available'].includes(l.state)), lines }
    } catch (err) {
      return { up: false, lines: [{ what: 'aws', state: 'unreachable', detail: (err as Error).message }] }
    }
  }

  async close(): Promise<void> {
    for (const name of CLIENT_NAMES) this.clients[name].destroy()
  }

  // ── endpoints ────────────────────────────────────────────────────────────────────────────

  readonly endpoints: Endpoints = {
    natsServers: (cluster) => {
      const nc = this.config.nats[cluster]
      if (!nc) throw new TargetError(`unknown NATS cluster "${cluster}"`)
      if (nc.servers?.length) return nc.servers
      const scheme = nc.tls ? 'tls' : 'nats'
      return this.discovery()
        .instances.filter((i) => i.cluster === cluster && i.privateIp)
        .map((i) => `${scheme}://${i.privateIp}:${nc.clientPort}`)
    },
    natsOptions: (cluster) => {
      const nc = this.config.nats[cluster]
      if (!nc) throw new TargetError(`unknown NATS cluster "${cluster}"`)
      const opts: Record<string, unknown> = {}
      if (nc.tls) {
        const tls: Record<string, string> = {}
        for (const key of ['caFile', 'certFile', 'keyFile'] as const) if (nc.tls[key]) tls[key] = resolveFilePath(nc.tls[key]!, this.baseDir)
        opts.tls = tls
      }
      const auth = nc.auth
      const secret = (ref: Parameters<typeof readSecret>[0]) => () => readSecret(ref, { baseDir: this.baseDir })
      if (auth?.credentials) opts.authenticator = credsAuthenticator(() => new TextEncoder().encode(secret(auth.credentials!)()))
      else if (auth?.nkeySeed) opts.authenticator = nkeyAuthenticator(() => new TextEncoder().encode(secret(auth.nkeySeed!)()))
      else if (auth?.token) opts.authenticator = tokenAuthenticator(secret(auth.token))
      else if (auth?.user) opts.authenticator = usernamePasswordAuthenticator(auth.user, auth.password ? secret(auth.password) : undefined)
      return opts
    },
    natsMonitor: (cluster, node) => {
      const nc = this.config.nats[cluster]
      if (!nc) throw new TargetError(`unknown NATS cluster "${cluster}"`)
      const inst = this.discovery().instances.find((i) => i.cluster === cluster && i.node === node && i.state !== 'terminated')
      const host = inst && (nc.monitor.address === 'privateDns' ? inst.privateDns : inst.privateIp)
      if (!host) throw new TargetError(`no address known for NATS node ${cluster}/${node}`)
      return `${nc.monitor.scheme}://${host}:${nc.monitor.port}`
    },
    redis: (cache): RedisEndpoint => {
      const cc = this.cacheConfig(cache)
      const found = this.snapshot?.caches[cache]
      const host = cc.host ?? found?.primaryHost
      if (!host) throw new TargetError(`no host known for cache "${cache}": set caches.${cache}.host or discover first`)
      const endpoint: RedisEndpoint = { host, port: cc.host ? cc.port : (found?.primaryPort ?? cc.port), tls: cc.tls }
      if (cc.auth) endpoint.password = readSecret(cc.auth, { baseDir: this.baseDir })
      return endpoint
    },
    gateway: () => {
      if (!this.config.gateway) throw new TargetError('the AWS environment file has no gateway.url')
      return this.config.gateway.url
    },
  }

  // ── nodes (EC2) ──────────────────────────────────────────────────────────────────────────

  private async instancesOf(node: NodeInfo, states = NON_TERMINATED): Promise<InstanceInfo[]> {
    await this.guard()
    return this.describeNodeInstances(node.cluster, node.name, states)
  }

  private async currentInstance(node: NodeInfo): Promise<InstanceInfo> {
    const found = await this.instancesOf(node)
    if (!found.length) throw new TargetError(`no live EC2 instance for NATS node ${node.cluster}/${node.name}`)
    return found.find((i) => i.state === 'running') ?? found.find((i) => i.state === 'pending') ?? found[0]
  }

  private async waitInstanceState(instanceId: string, states: string[], timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const res = await this.clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))
      const state = res.Reservations?.[0]?.Instances?.[0]?.State?.Name ?? 'unknown'
      if (states.includes(state)) {
        this.updateInstanceState(instanceId, state)
        return state
      }
      if (Date.now() > deadline) throw new TimeoutError(`EC2 instance ${instanceId} still ${state} after ${timeoutMs}ms (waiting for ${states.join('|')})`)
      await sleep(this.config.pollInterval)
    }
  }

  private updateInstanceState(instanceId: string, state: string): void {
    const known = this.snapshot?.instances.find((i) => i.instanceId === instanceId)
    if (known) known.state = state
  }

  /** What a node control would call, for plan output. */
  describeNodeAction(action: NodeAction, node: NodeInfo): string[] {
    const inst = this.snapshot?.instances.find((i) => i.cluster === node.cluster && i.node === node.name && i.state !== 'terminated')
    const id = inst?.instanceId ?? `<instance of ${node.cluster}/${node.name}>`
    const mode = this.config.nats[node.cluster]?.killMode ?? 'stop'
    if (action === 'kill' && mode === 'terminate')
      return [`ec2:TerminateInstances InstanceIds=[${id}] (irreversible; revert waits for the auto-scaling replacement)`]
    if (action === 'kill') return [`ec2:StopInstances InstanceIds=[${id}] Force=true`, `ec2:StartInstances InstanceIds=[${id}] (on revert)`]
    if (action === 'stop') return [`ec2:StopInstances InstanceIds=[${id}]`, `ec2:StartInstances InstanceIds=[${id}] (on revert)`]
    if (action === 'start') return [`ec2:StartInstances InstanceIds=[${id}]`]
    return describeProcessNodeAction(action, node) // TODO(issue 14): refuse what AWS cannot do
  }

  readonly nodes: NodeControl = {
    describe: (action, node) => this.describeNodeAction(action, node),
    kill: async (node) => {
      const inst = await this.currentInstance(node)
      const mode = this.config.nats[node.cluster].killMode
      if (mode === 'terminate') {
        await this.clients.ec2.send(new TerminateInstancesCommand({ InstanceIds: [inst.instanceId] }))
        await this.waitInstanceState(inst.instanceId, ['shutting-down', 'terminated'], this.config.timeouts.instance)
        return
      }
      if (inst.state === 'stopped') return
      await this.clients.ec2.send(new StopInstancesCommand({ InstanceIds: [inst.instanceId], Force: true }))
      await this.waitInstanceState(inst.instanceId, ['stopped'], this.config.timeouts.instance)
    },
    stop: async (node) => {
      const inst = await this.currentInstance(node)
      if (inst.state === 'stopped') return
      await this.clients.ec2.send(new StopInstancesCommand({ InstanceIds: [inst.instanceId] }))
      await this.waitInstanceState(inst.instanceId, ['stopped'], this.config.timeouts.instance)
    },
    start: async (node) => {
      const found = await this.instancesOf(node)
      const live = found.find((i) => i.state === 'running' || i.state === 'pending')
      if (live) {
        await this.waitInstanceState(live.instanceId, ['running'], this.config.timeouts.instance)
        return
      }
      const stopped = found.find((i) => i.state === 'stopped' || i.state === 'stopping')
      if (stopped) {
        if (stopped.state === 'stopping') await this.waitInstanceState(stopped.instanceId, ['stopped'], this.config.timeouts.instance)
        await this.clients.ec2.send(new StartInstancesCommand({ InstanceIds: [stopped.instanceId] }))
        await this.waitInstanceState(stopped.instanceId, ['running'], this.config.timeouts.instance)
        return
      }
      // terminated (killMode: terminate): the auto-scaling group brings a replacement with the same tags
      const deadline = Date.now() + this.config.timeouts.replacement
      for (;;) {
        const replacement = (await this.instancesOf(node, ['running'])).at(0)
        if (replacement) {
          if (this.snapshot) {
            this.snapshot.instances = this.snapshot.instances.filter((i) => !(i.cluster === node.cluster && i.node === node.name))
            this.snapshot.instances.push(replacement)
          }
          return
        }
        if (Date.now() > deadline)
          throw new TimeoutError(`no replacement instance for ${node.cluster}/${node.name} after ${this.config.timeouts.replacement}ms`)
        await sleep(this.config.pollInterval)
      }
    },
    isRunning: async (node) => (await this.instancesOf(node, ['running'])).length > 0,
  }

  // ── tasks (ECS) ──────────────────────────────────────────────────────────────────────────

  /** The ECS service name of a logical service. */
  ecsServiceName(logical: string): string {
    const found = this.snapshot?.services[logical]
    if (found) return found.ecsName
    const ref = this.config.ecs.services[logical]
    if (!ref) throw new TargetError(`unknown service "${logical}" (the environment has ${Object.keys(this.config.ecs.services).join(', ') || 'none'})`)
    if (!ref.name) throw new GamedayError(`service "${logical}" is found by tags: discover the environment first`)
    return ref.name
  }

  /** desired / running / pending of a service, live. */
  async serviceCounts(logical: string): Promise<ServiceInfo> {
    await this.guard()
    const name = this.ecsServiceName(logical)
    const res = await this.clients.ecs.send(new DescribeServicesCommand({ cluster: this.config.ecs.cluster, services: [name] }))
    const svc = res.services?.[0]
    if (!svc) throw new TargetError(`ECS service ${name} not found in ${this.config.ecs.cluster}`)
    const info = this.serviceInfo(logical, svc)
    if (this.snapshot) this.snapshot.services[logical] = info
    return info
  }

  /** Tasks the service wants running (desiredStatus RUNNING), with their live state. */
  async listTasks(logical: string): Promise<TaskInfo[]> {
    await this.guard()
    const cluster = this.config.ecs.cluster
    const serviceName = this.ecsServiceName(logical)
    const arns: string[] = []
    let nextToken: string | undefined
    do {
      const page = await this.clients.ecs.send(new ListTasksCommand({ cluster, serviceName, desiredStatus: 'RUNNING', nextToken }))
      arns.push(...(page.taskArns ?? []))
      nextToken = page.nextToken
    } while (nextToken)
    const tasks: TaskInfo[] = []
    for (const batch of chunk(arns, 100)) {
      const res = await this.clients.ecs.send(new DescribeTasksCommand({ cluster, tasks: batch }))
      for (const t of res.tasks ?? []) {
        if (!t.taskArn) continue
        checkArnAllowed(this.config, t.taskArn)
        tasks.push({
          service: logical,
          id: t.taskArn,
          state: t.lastStatus ?? 'UNKNOWN',
          ...(t.availabilityZone ? { az: this.logicalAz(t.availabilityZone) } : {}),
          ...(t.startedAt ? { startedAt: t.startedAt.toISOString() } : {}),
          ...(t.healthStatus ? { health: t.healthStatus } : {}),
        } as TaskInfo)
      }
    }
    return tasks.sort((a, b) => a.id.localeCompare(b.id))
  }

  /** StopTask with a reason that names the run (ECS shows it in the console and events). */
  async stopTask(taskArn: string, reason: string): Promise<void> {
    await this.guard()
    checkArnAllowed(this.config, taskArn)
    await this.clients.ecs.send(new StopTaskCommand({ cluster: this.config.ecs.cluster, task: taskArn, reason: reason.slice(0, 255) }))
  }

  /**
   * Waits until the service runs its desired count again: DescribeServices shows
   * runningCount == desiredCount with nothing pending, and as many of the tasks ECS wants
   * running (desiredStatus RUNNING: a stopped task leaves that list at once) are RUNNING and
   * not UNHEALTHY. Read-only.
   */
  async waitForService(logical: string, timeoutMs: number, signal?: AbortSignal): Promise<ServiceInfo> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const counts = await this.serviceCounts(logical)
      if (counts.running === counts.desired && counts.pending === 0) {
        const tasks = await this.listTasks(logical)
        const ready = tasks.filter((t) => t.state === 'RUNNING' && (t as TaskInfo & { health?: string }).health !== 'UNHEALTHY')
        if (ready.length >= counts.desired) return counts
      }
      if (Date.now() > deadline) {
        throw new TimeoutError(
          `service ${logical} not back to ${counts.desired} running tasks after ${timeoutMs}ms (running ${counts.running}, pending ${counts.pending})`,
        )
      }
      await sleep(this.config.pollInterval, signal)
    }
  }

  readonly tasks: AwsTaskControl = {
    list: (service) => this.listTasks(service),
    // ECS has one way to stop a task: StopTask (SIGTERM, then SIGKILL after the task
    // definition's stopTimeout); graceMs cannot be set per call.
    stop: (task, opts) => this.stopTask(task.id, opts?.reason ?? 'gameday: stop task'),
    kill: (task) => this.stopTask(task.id, 'gameday: kill task (ECS StopTask; no SIGKILL-only stop exists)'),
    waitForDesired: async (service, timeoutMs, signal) => {
      await this.waitForService(service, timeoutMs, signal)
    },
  }

  // ── network (FIS) ────────────────────────────────────────────────────────────────────────

  /**
   * What an AZ partition means on AWS: the isolated AZs' subnets get
   * aws:network:disrupt-connectivity scope availability-zone, which denies their traffic to
   * and from every other AZ. Anything else (explicit node groups across AZs, one-way cuts) is
   * refused here, before any call.
   */
  planPartition(spec: PartitionSpec): PartitionPlan {
    if (spec.oneWay) throw new ValidationError('AWS cannot cut traffic one way: FIS network ACL rules deny both directions; use a two-way partition')
    const topo = this.topology()
    const cluster = topo.clusters[spec.cluster]
    if (!cluster) throw new TargetError(`unknown NATS cluster "${spec.cluster}"`)
    const azOf = new Map(cluster.nodes.map((n) => [n.name, n.az]))
    let azs = spec.azs ?? []
    if (!azs.length) {
      // explicit groups are expressible only when they are whole AZs and at most one group spans several AZs
      const groupAzs = spec.groups.map((g) => new Set(g.map((n) => azOf.get(n) ?? '?')))
      for (const [i, g] of groupAzs.entries()) {
        for (const az of g) {
          const other = groupAzs.findIndex((h, j) => j !== i && h.has(az))
          if (other >= 0 || az === '?') {
            throw new ValidationError(
              `AWS partitions whole AZs only: node groups ${JSON.stringify(spec.groups)} split AZ ${az} (FIS acts on subnets, not on single instances)`,
            )
          }
        }
      }
      const multi = groupAzs.filter((g) => g.size > 1)
      if (multi.length > 1)
        throw new ValidationError(`AWS can isolate AZs from each other, not groups of several AZs from each other: ${JSON.stringify(spec.groups)}`)
      const keep = multi[0] ?? groupAzs.reduce((a, b) => (b.size > a.size ? b : a), new Set<string>())
      const keepIndex = groupAzs.indexOf(keep)
      azs = groupAzs.flatMap((g, i) => (i === keepIndex ? [] : [...g]))
    } else {
      // groups must agree with the AZs asked for: each group lies wholly inside or wholly outside them
      const isolated = new Set(cluster.nodes.filter((n) => azs.includes(n.az)).map((n) => n.name))
      const aligned = spec.groups.every((g) => g.every((n) => isolated.has(n)) || g.every((n) => !isolated.has(n)))
      if (!aligned) {
        throw new ValidationError(`partition groups ${JSON.stringify(spec.groups)} are not aligned with AZs ${azs.join(', ')}: AWS isolates whole AZs`)
      }
    }
    if (!azs.length) throw new ValidationError('a partition on AWS needs at least one AZ to isolate')
    const realAzs = azs.map((az) => this.realAz(az))
    if (!this.config.subnets) throw new ValidationError('network.partition on AWS needs `subnets.tags` in the environment file')
    const subnets = this.discovery().subnets.filter((s) => realAzs.includes(s.realAz))
    for (const az of realAzs) if (!subnets.some((s) => s.realAz === az)) throw new TargetError(`no tagged subnet in ${az}`)
    return { cluster: spec.cluster, azs, realAzs, subnets }
  }

  partitionTemplate(plan: PartitionPlan, runId: string, durationMs?: number): TemplateParts {
    const duration = isoDuration(durationMs ?? this.config.fis?.maxDuration ?? 30 * 60_000)
    return {
      fault: FAULT_PARTITION,
      description: `isolate ${plan.azs.join(', ')} (${plan.realAzs.join(', ')}) from the other AZs`,
      targets: { Subnets: { resourceType: 'aws:ec2:subnet', resourceArns: plan.subnets.map((s) => s.arn), selectionMode: 'ALL' } },
      actions: {
        isolate: {
          actionId: 'aws:network:disrupt-connectivity',
          description: `cut ${plan.realAzs.join(', ')} from the other AZs`,
          parameters: { duration, scope: 'availability-zone' },
          targets: { Subnets: 'Subnets' },
        },
      },
    }
  }

  /** Which services' tasks, which FIS action and parameters a cache degradation means. */
  planCacheDegradation(spec: CacheDegradation, runId: string, durationMs?: number): TemplateParts {
    const cc = this.cacheConfig(spec.cache)
    if (spec.rateKBps !== undefined) {
      throw new ValidationError('a bandwidth cap (rateKBps) cannot be expressed on ECS Fargate with FIS: use latencyMs or down')
    }
    if (!spec.down && spec.latencyMs === undefined) throw new ValidationError('a cache degradation needs latencyMs or down')
    const services = spec.services?.length ? spec.services : (cc.usedBy ?? Object.keys(this.config.ecs.services))
    if (!services.length) throw new ValidationError(`no service to degrade the link to cache "${spec.cache}" for`)
    const found = this.snapshot?.caches[spec.cache]
    const host = cc.host ?? found?.primaryHost
    const port = cc.host ? cc.port : (found?.primaryPort ?? cc.port)
    const duration = isoDuration(durationMs ?? this.config.fis?.maxDuration ?? 30 * 60_000)
    const targets: TemplateParts['targets'] = {}
    const actions: TemplateParts['actions'] = {}
    for (const logical of services) {
      const key = logical.replace(/[^A-Za-z0-9]/g, '')
      const targetName = `Tasks${key}`.slice(0, 64)
      targets[targetName] = {
        resourceType: 'aws:ecs:task',
        parameters: { cluster: this.config.ecs.cluster, service: this.ecsServiceName(logical) },
        selectionMode: 'ALL',
      }
      if (spec.down) {
        actions[`blackhole${key}`.slice(0, 64)] = {
          actionId: 'aws:ecs:task-network-blackhole-port',
          description: `drop ${logical} → ${spec.cache} (tcp/${port})`,
          parameters: { duration, port: String(port), protocol: 'tcp', trafficType: 'egress', useEcsFaultInjectionEndpoints: 'true' },
          targets: { Tasks: targetName },
        }
      } else {
        if (!host) throw new TargetError(`no host known for cache "${spec.cache}": set caches.${spec.cache}.host or discover first`)
        actions[`latency${key}`.slice(0, 64)] = {
          actionId: 'aws:ecs:task-network-latency',
          description: `delay ${logical} → ${spec.cache} by ${spec.latencyMs}ms`,
          parameters: {
            duration,
            delayMilliseconds: String(spec.latencyMs),
            jitterMilliseconds: String(spec.jitterMs ?? 0),
            sources: host,
            useEcsFaultInjectionEndpoints: 'true',
          },
          targets: { Tasks: targetName },
        }
      }
    }
    return {
      fault: FAULT_CACHE,
      description: `${spec.down ? 'blackhole' : `${spec.latencyMs}ms latency on`} ${services.join(', ')} → ${spec.cache}`,
      targets,
      actions,
    }
  }

  readonly network: NetworkControl = {
    partition: async (spec, ctx) => {
      const plan = this.planPartition(spec)
      await this.checkBlastRadius(
        FAULT_PARTITION,
        plan.azs.map((az) => ({ kind: 'az', id: az })),
        'inject',
      )
      const input = buildTemplate(this.config, ctx.runId, this.partitionTemplate(plan, ctx.runId, durationOf(spec)))
      return this.fisRunner.createAndStart(input, ctx)
    },
    heal: (state, ctx) => this.fisRunner.revert(asFisState(state), { ...ctx, fault: FAULT_PARTITION }),
    describePartition: (spec) => {
      const plan = this.planPartition(spec)
      return describeTemplateRun(buildTemplate(this.config, '<run-id>', this.partitionTemplate(plan, '<run-id>', durationOf(spec))))
    },
    degradeCache: async (spec, ctx) => {
      const input = buildTemplate(this.config, ctx.runId, this.planCacheDegradation(spec, ctx.runId, durationOf(spec)))
      return this.fisRunner.createAndStart(input, ctx)
    },
    restoreCache: (state, ctx) => this.fisRunner.revert(asFisState(state), { ...ctx, fault: FAULT_CACHE }),
    describeCacheDegradation: (spec) =>
      describeTemplateRun(buildTemplate(this.config, '<run-id>', this.planCacheDegradation(spec, '<run-id>', durationOf(spec)))),
  }

  /** An existing FIS template, checked against the allow-list (for aws.fis-experiment). */
  async getFisTemplate(id: string): Promise<ExperimentTemplate> {
    if (!this.config.allow.fisTemplates.includes(id)) {
      throw new AllowListError(`FIS template ${id} is not in allow.fisTemplates [${this.config.allow.fisTemplates.join(', ')}]`)
    }
    await this.guard()
    const res = await this.clients.fis.send(new GetExperimentTemplateCommand({ id }))
    const template = res.experimentTemplate
    if (!template) throw new TargetError(`FIS template ${id} not found`)
    if (template.roleArn) checkArnAllowed(this.config, template.roleArn)
    for (const target of Object.values(template.targets ?? {})) for (const arn of target.resourceArns ?? []) checkArnAllowed(this.config, arn)
    return template
  }

  /** Polls DescribeReplicationGroups until the group is available with every member back. */
  async waitForCache(logical: string, timeoutMs: number, signal?: AbortSignal): Promise<CacheInfo> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const info = await this.describeCache(logical)
      if (info.status === 'available' && info.members.length && info.members.every((m) => m.role !== 'unknown')) return info
      if (Date.now() > deadline) throw new TimeoutError(`cache ${logical} still ${info.status} after ${timeoutMs}ms`)
      await sleep(this.config.pollInterval, signal)
    }
  }
}

/** ECS task control; `reason` (shown by ECS) may name the run. */
export interface AwsTaskControl extends TaskControl {
  stop(task: TaskInfo, opts?: { graceMs?: number; reason?: string }): Promise<void>
}

/** A duration a caller may attach to a spec (the engine's step duration), in ms. */
function durationOf(spec: object): number | undefined {
  const d = (spec as { durationMs?: unknown }).durationMs
  return typeof d === 'number' && d > 0 ? d : undefined
}

function asFisState(state: Json): Partial<FisState> | null {
  if (!state || typeof state !== 'object' || Array.isArray(state)) return null
  return state as Partial<FisState>
}

/** Loads `environments/aws.yaml` (kind: aws) into an environment. Makes no AWS call. */
export async function loadAwsEnvironment(file: string, opts: { clients?: Partial<AwsClients> } = {}): Promise<AwsEnvironment> {
  const config = await loadAwsConfig(file)
  return new AwsEnvironment(config, { source: file, clients: opts.clients })
}

export type { AwsClients } from './clients.ts'
