/**
 * The network part on AWS, through FIS:
 *
 *   partition     aws:network:disrupt-connectivity (scope availability-zone) on the isolated
 *                 AZs' tagged subnets: their traffic to and from every other AZ is denied
 *   Redis links   aws:ecs:task-network-latency / -blackhole-port on the tasks of the services
 *                 that use the cache
 *
 * What AWS cannot express (a partition splitting an AZ, a one-way cut, a bandwidth cap) is
 * refused here, before any call. `describe*` builds the very template the fault would send —
 * same targets, actions, duration — so plan shows the calls a run makes.
 */
import type { FisTemplateSpec } from '../../api/aws.ts'
import type { CacheDegradation, ControlContext, NetworkControl, PartitionSpec, Topology } from '../../api/environment.ts'
import { TargetError, ValidationError } from '../../api/errors.ts'
import type { Json, ResolvedTarget } from '../../api/fault.ts'
import { realAz } from './azs.ts'
import type { AwsConfig } from './config.ts'
import type { AwsDiscovery, SubnetInfo } from './discovery.ts'
import { buildTemplate, describeTemplateRun, isoDuration, type FisRunner } from './fis.ts'

export const FAULT_PARTITION = 'network.partition'
export const FAULT_CACHE = 'redis.degrade'
/** what a plan shows where the run's id will be */
export const PLAN_RUN_ID = '<run-id>'

/** The facts partition() works from, computed without any call. */
export interface PartitionPlan {
  cluster: string
  /** logical AZs whose subnets are cut from the other AZs */
  azs: string[]
  realAzs: string[]
  subnets: SubnetInfo[]
}

export class AwsNetwork implements NetworkControl {
  constructor(
    private readonly config: AwsConfig,
    private readonly discovery: AwsDiscovery,
    private readonly fis: FisRunner,
    /** the blast-radius check, again against the AZs the cut resolves to */
    private readonly checkAzs: (fault: string, azs: string[]) => Promise<void>,
  ) {}

  private topology(): Topology {
    return this.discovery.topology()
  }

  /**
   * Which AZs a partition isolates. By AZ, those; by explicit groups, only when they are whole
   * AZs and at most one group spans several (the rest are each isolated from it).
   */
  planPartition(spec: PartitionSpec): PartitionPlan {
    if (spec.oneWay) throw new ValidationError('AWS cannot cut traffic one way: FIS network ACL rules deny both directions; use a two-way partition')
    const cluster = this.topology().clusters[spec.cluster]
    if (!cluster) throw new TargetError(`unknown NATS cluster "${spec.cluster}"`)
    const azOf = new Map(cluster.nodes.map((n) => [n.name, n.az]))
    let azs = spec.azs ?? []
    if (!azs.length) {
      const groupAzs = spec.groups.map((g) => new Set(g.map((n) => azOf.get(n) ?? '?')))
      for (const [i, g] of groupAzs.entries()) {
        for (const az of g) {
          if (az === '?' || groupAzs.some((h, j) => j !== i && h.has(az))) {
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
    const realAzs = azs.map((az) => realAz(this.config, az))
    if (!this.config.subnets) throw new ValidationError('network.partition on AWS needs `subnets.tags` in the environment file')
    const subnets = this.discovery.current().subnets.filter((s) => realAzs.includes(s.realAz))
    for (const az of realAzs) if (!subnets.some((s) => s.realAz === az)) throw new TargetError(`no tagged subnet in ${az}`)
    return { cluster: spec.cluster, azs, realAzs, subnets }
  }

  /** The AZs a `link` target (explicit partition groups, as network.partition resolves them) cuts: for the blast radius. */
  azsOfLink(target: ResolvedTarget): string[] {
    const groups = target.groups
    if (!Array.isArray(groups) || typeof target.cluster !== 'string') return []
    return this.planPartition({ cluster: target.cluster, groups: groups as string[][], oneWay: target.oneWay === true }).azs
  }

  private duration(durationMs?: number): string {
    return isoDuration(durationMs ?? this.config.fis?.maxDuration ?? 30 * 60_000)
  }

  partitionTemplate(plan: PartitionPlan, durationMs?: number): FisTemplateSpec {
    return {
      fault: FAULT_PARTITION,
      description: `isolate ${plan.azs.join(', ')} (${plan.realAzs.join(', ')}) from the other AZs`,
      targets: { Subnets: { resourceType: 'aws:ec2:subnet', resourceArns: plan.subnets.map((s) => s.arn), selectionMode: 'ALL' } },
      actions: {
        isolate: {
          actionId: 'aws:network:disrupt-connectivity',
          description: `cut ${plan.realAzs.join(', ')} from the other AZs`,
          parameters: { duration: this.duration(durationMs), scope: 'availability-zone' },
          targets: { Subnets: 'Subnets' },
        },
      },
    }
  }

  /** Which services' tasks, which FIS action and parameters a cache degradation means. */
  planCacheDegradation(spec: CacheDegradation): FisTemplateSpec {
    const cc = this.config.caches[spec.cache]
    if (!cc) throw new TargetError(`unknown cache "${spec.cache}" (the environment has ${Object.keys(this.config.caches).join(', ') || 'none'})`)
    if (spec.rateKBps !== undefined) {
      throw new ValidationError('a bandwidth cap (rateKBps) cannot be expressed on ECS Fargate with FIS: use latencyMs or down')
    }
    if (!spec.down && spec.latencyMs === undefined) throw new ValidationError('a cache degradation needs latencyMs or down')
    const services = spec.services?.length ? spec.services : (cc.usedBy ?? Object.keys(this.config.ecs.services))
    if (!services.length) throw new ValidationError(`no service to degrade the link to cache "${spec.cache}" for`)
    const found = this.discovery.peek()?.caches[spec.cache]
    const host = cc.host ?? found?.primaryHost
    const port = cc.host ? cc.port : (found?.primaryPort ?? cc.port)
    const duration = this.duration(spec.durationMs)
    const targets: FisTemplateSpec['targets'] = {}
    const actions: FisTemplateSpec['actions'] = {}
    for (const logical of services) {
      const key = logical.replace(/[^A-Za-z0-9]/g, '')
      const targetName = `Tasks${key}`.slice(0, 64)
      targets[targetName] = {
        resourceType: 'aws:ecs:task',
        parameters: { cluster: this.config.ecs.cluster, service: this.discovery.ecsServiceName(logical) },
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

  async partition(spec: PartitionSpec, ctx: ControlContext): Promise<Json> {
    const plan = this.planPartition(spec)
    await this.checkAzs(FAULT_PARTITION, plan.azs)
    return this.fis.createAndStart(buildTemplate(this.config, ctx.runId, this.partitionTemplate(plan, spec.durationMs)), ctx)
  }

  async heal(state: Json, ctx: ControlContext): Promise<void> {
    await this.fis.revert(fisState(state), { ...ctx, fault: FAULT_PARTITION })
  }

  describePartition(spec: PartitionSpec): string[] {
    return describeTemplateRun(buildTemplate(this.config, PLAN_RUN_ID, this.partitionTemplate(this.planPartition(spec), spec.durationMs)))
  }

  async degradeCache(spec: CacheDegradation, ctx: ControlContext): Promise<Json> {
    return this.fis.createAndStart(buildTemplate(this.config, ctx.runId, this.planCacheDegradation(spec)), ctx)
  }

  async restoreCache(state: Json, ctx: ControlContext): Promise<void> {
    await this.fis.revert(fisState(state), { ...ctx, fault: FAULT_CACHE })
  }

  describeCacheDegradation(spec: CacheDegradation): string[] {
    return describeTemplateRun(buildTemplate(this.config, PLAN_RUN_ID, this.planCacheDegradation(spec)))
  }
}

/** A journaled revert state as far as it is one: `{}` or null (the run died before it was known) finds everything by tag. */
function fisState(state: Json): Record<string, Json> | null {
  if (!state || typeof state !== 'object' || Array.isArray(state)) return null
  return state
}
