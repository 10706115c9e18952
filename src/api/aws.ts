/**
 * The AWS capability: what the AWS-only faults (redis.failover, redis.az-power,
 * aws.fis-experiment, ecs.stop-task) and probes (cloudwatch) need of an AWS environment, typed, with no AWS SDK type in
 * sight. A fault asks for it by its key and gets it, or an UnsupportedError on any other
 * environment:
 *
 *   const aws = requireCapability(ctx.env, AWS, 'redis.failover')
 *
 * Every call passes the environment's guardrails first (allow-list of accounts, regions,
 * clusters and FIS templates; the caller's account through STS). Everything gameday creates or
 * starts in FIS carries the run id as a tag, so a revert finds it again from the run id alone.
 */
import { capability, type ControlContext } from './environment.ts'
import type { Json } from './fault.ts'

/** A FIS target, as CreateExperimentTemplate takes it. */
export interface FisTarget {
  resourceType: string
  resourceArns?: string[]
  resourceTags?: Record<string, string>
  parameters?: Record<string, string>
  /** ALL | COUNT(n) | PERCENT(n) */
  selectionMode: string
}

/** A FIS action, as CreateExperimentTemplate takes it; `targets` maps the action's target keys to target names. */
export interface FisAction {
  actionId: string
  description?: string
  parameters?: Record<string, string>
  targets?: Record<string, string>
}

/** The fault-specific half of an experiment template; role, stop conditions, options and tags come from the environment. */
export interface FisTemplateSpec {
  /** the fault type it belongs to (tagged `gameday:fault`) */
  fault: string
  description: string
  targets: Record<string, FisTarget>
  actions: Record<string, FisAction>
}

/**
 * What the journal keeps of a FIS experiment gameday started, and all a revert needs. Any id
 * it lacks (the run died before it was known) is found through the run-id and fault tags.
 */
export interface FisRunState {
  [key: string]: Json
  kind: 'fis'
  fault: string
  /** the run that started it (null: the run reverting it) */
  runId: string | null
  /** the template, when gameday created it (deleted on revert) */
  templateId: string | null
  /** whether gameday created the template (aws.fis-experiment runs templates it does not own) */
  ownsTemplate: boolean
  experimentId: string | null
}

/** What a FIS revert did, after verifying it: every experiment it found is in a final state. */
export interface FisRevertOutcome {
  /** experiments that were still acting and are now stopped */
  stopped: string[]
  /** experiments that had ended by themselves (completed, stopped, failed, cancelled) */
  alreadyEnded: string[]
  /** templates of this run deleted now (none when an earlier revert had deleted them) */
  deletedTemplates: string[]
  /** one line saying all of it */
  summary: string
}

/** An existing template (aws.fis-experiment), as plan shows it. */
export interface FisTemplateInfo {
  id: string
  description?: string
  /** `actionId {k=v,…}` per action */
  actions: string[]
  /** `name: resourceType arns=[…]|tags={…} selection` per target */
  targets: string[]
  /** alarm ARNs, or ['none'] */
  stopConditions: string[]
}

export interface AwsFis {
  /** FIS durations are ISO 8601, at least one minute: what a step's duration becomes */
  isoDuration(ms: number): string
  /** the calls `run` makes for this template, one line each, without making any (plan) */
  describeRun(template: FisTemplateSpec, runId: string): string[]
  /** CreateExperimentTemplate → StartExperiment → wait until running; on any failure, nothing is left running */
  run(template: FisTemplateSpec, ctx: ControlContext): Promise<FisRunState>
  /** an existing template, refused unless listed in allow.fisTemplates */
  template(id: string): Promise<FisTemplateInfo>
  describeStart(templateId: string, runId: string, fault: string): string[]
  /** StartExperiment on an existing template, tagged with the run, and wait until it runs (or completes) */
  start(templateId: string, ctx: ControlContext, opts: { fault: string; until: 'running' | 'completed' }): Promise<FisRunState>
  /** stop (and, when gameday created it, delete) what the state names or the tags find; idempotent, verified */
  revert(state: Partial<FisRunState> | null, ctx: ControlContext & { fault: string }): Promise<FisRevertOutcome>
}

/** An ElastiCache replication group as discovery sees it. */
export interface CacheGroupInfo {
  /** the logical name experiments use */
  cache: string
  replicationGroupId: string
  /** available | modifying | … */
  status: string
  multiAz: boolean
  automaticFailover: boolean
  /** tags that select exactly this group in FIS (FIS finds replication groups by tag only) */
  fisTargetTags?: Record<string, string>
  members: { id: string; az: string; realAz: string; role: string; nodeGroup?: string }[]
  /** its shards (one for a group without cluster mode), with the hash slots each serves (inclusive ranges) */
  nodeGroups: { id: string; slots: [number, number][] }[]
}

export interface AwsElastiCache {
  describe(cache: string): Promise<CacheGroupInfo>
  /** elasticache:TestFailover of one shard: a replica is promoted */
  testFailover(cache: string, nodeGroup: string): Promise<void>
  describeTestFailover(cache: string, nodeGroup: string): string
  /** polls until the group is available with every member's role known */
  waitAvailable(cache: string, timeoutMs: number, signal?: AbortSignal): Promise<CacheGroupInfo>
}

export interface AwsEcs {
  /** the ECS cluster of the environment */
  readonly cluster: string
  /** the ECS service name behind a logical service */
  serviceName(service: string): string
  /** desired / running / pending of a service, live */
  serviceCounts(service: string): Promise<{ desired: number; running: number; pending: number }>
}

/** One GetMetricData query, in plain terms: a metric and statistic, or an expression over other queries' ids. */
export interface MetricQuery {
  id: string
  label?: string
  metric?: { namespace: string; name: string; dimensions: Record<string, string>; stat: string; unit?: string }
  expression?: string
  periodSeconds: number
  /** whether its values come back (false for the inputs of an expression) */
  returnData: boolean
}

/** The values of one query, every page joined, timestamps ascending. */
export interface MetricValues {
  id: string
  label?: string
  timestamps: Date[]
  values: number[]
  /** Complete | PartialData | InternalError | Forbidden */
  status?: string
  messages?: string[]
}

/** CloudWatch metrics (the cloudwatch probe). */
export interface AwsCloudWatch {
  /** CloudWatch GetMetricData for [from, to), every page */
  getMetricData(queries: MetricQuery[], from: Date, to: Date, signal?: AbortSignal): Promise<MetricValues[]>
}

export interface AwsCapability {
  readonly region: string
  readonly accountId: string
  /** logical AZ (as experiments name it) → AWS AZ name */
  realAz(az: string): string
  /** AWS AZ name → logical AZ */
  logicalAz(realAz: string): string
  readonly fis: AwsFis
  readonly elasticache: AwsElastiCache
  readonly ecs: AwsEcs
  readonly cloudwatch: AwsCloudWatch
}

/** The key AWS-only faults ask for: `requireCapability(ctx.env, AWS, type)`. */
export const AWS = capability<AwsCapability>('aws')
