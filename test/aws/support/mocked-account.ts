/**
 * Test support for the AWS environment and faults: real SDK clients whose `send` is
 * intercepted by aws-sdk-client-mock, answering from a small in-memory account so that waits
 * end the way they would on AWS — an instance goes stopping → stopped, an experiment
 * initiating → running, a stopped task is replaced. (test/aws/support/fake-aws-server.ts is the
 * same account over the real wire protocols, for the end-to-end suite.)
 *
 * Every call is recorded in order, so tests assert exact inputs and that plan made only
 * Describe/List/Get calls. The clients carry dummy credentials and a region of their own and
 * never send: nothing can reach AWS, and no credential chain or metadata service is consulted.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch'
import {
  DescribeInstancesCommand,
  DescribeSubnetsCommand,
  EC2Client,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type Filter,
} from '@aws-sdk/client-ec2'
import {
  DescribeClustersCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListServicesCommand,
  ListTasksCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs'
import { DescribeReplicationGroupsCommand, ElastiCacheClient, TestFailoverCommand } from '@aws-sdk/client-elasticache'
import {
  CreateExperimentTemplateCommand,
  DeleteExperimentTemplateCommand,
  FisClient,
  GetExperimentCommand,
  GetExperimentTemplateCommand,
  ListExperimentsCommand,
  ListExperimentTemplatesCommand,
  StartExperimentCommand,
  StopExperimentCommand,
  type CreateExperimentTemplateCommandInput,
  type ExperimentTemplate,
} from '@aws-sdk/client-fis'
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { mockClient, type AwsStub } from 'aws-sdk-client-mock'
import type { Logger } from '../../../src/api/environment.ts'
import type { FaultContext, Json } from '../../../src/api/fault.ts'
import { createRng } from '../../../src/util/rng.ts'
import { isReadOnlyCommand, type AwsClients } from '../../../src/environments/aws/clients.ts'
import { parseAwsConfig, type AwsConfig } from '../../../src/environments/aws/config.ts'
import { AwsEnvironment } from '../../../src/environments/aws/environment.ts'

export const ACCOUNT = '123456789012'
export const REGION = 'eu-west-1'
export const CLUSTER = 'game-prod'
export const EXAMPLE_FILE = fileURLToPath(new URL('../../../environments/aws.example.yaml', import.meta.url))

const credentials = { accessKeyId: 'AKIAFAKEFAKEFAKE', secretAccessKey: 'fake-secret-for-tests' }

/** The example environment file, with waits shrunk for tests. */
export function testConfig(patch: (cfg: AwsConfig) => void = () => {}): AwsConfig {
  const cfg = parseAwsConfig(readFileSync(EXAMPLE_FILE, 'utf8'), EXAMPLE_FILE)
  cfg.pollInterval = 1
  cfg.maxPollInterval = 1
  cfg.timeouts = { instance: 2000, replacement: 2000, taskRecovery: 2000, fisStart: 2000, fisStop: 2000, cacheRecovery: 2000 }
  cfg.allow.fisTemplates = ['EXTexisting0001']
  patch(cfg)
  return cfg
}

export interface FakeInstance {
  id: string
  node: string
  az: string
  state: string
  ip: string
  /** states it goes through, one per DescribeInstances by id */
  next: string[]
}

export interface FakeTask {
  arn: string
  az: string
  lastStatus: string
  desiredStatus: string
}

export interface FakeService {
  name: string
  desired: number
  tasks: FakeTask[]
  tags?: Record<string, string>
}

export interface FakeExperiment {
  id: string
  templateId: string
  status: string
  tags: Record<string, string>
  next: string[]
}

export interface RecordedCall {
  client: string
  command: string
  input: Record<string, unknown>
}

const taskArn = (service: string, n: number) =>
  `arn:aws:ecs:${REGION}:${ACCOUNT}:task/${CLUSTER}/${service.replace(/^game-prod-/, '')}${String(n).padStart(4, '0')}`

/** An in-memory AWS account behind mocked clients. */
export class FakeAws {
  readonly clients: AwsClients

  readonly mocks: { [K in keyof AwsClients]: AwsStub<any, any, any> }
  account = ACCOUNT
  instances: FakeInstance[] = [
    { id: 'i-0000000000000001', node: 'n1', az: 'eu-west-1a', state: 'running', ip: '10.0.1.11', next: [] },
    { id: 'i-0000000000000002', node: 'n2', az: 'eu-west-1a', state: 'running', ip: '10.0.1.12', next: [] },
    { id: 'i-0000000000000003', node: 'n3', az: 'eu-west-1b', state: 'running', ip: '10.0.2.13', next: [] },
    { id: 'i-0000000000000004', node: 'n4', az: 'eu-west-1b', state: 'running', ip: '10.0.2.14', next: [] },
    { id: 'i-0000000000000005', node: 'n5', az: 'eu-west-1c', state: 'running', ip: '10.0.3.15', next: [] },
  ]
  subnets = [
    { id: 'subnet-0a1', az: 'eu-west-1a' },
    { id: 'subnet-0a2', az: 'eu-west-1a' },
    { id: 'subnet-0b1', az: 'eu-west-1b' },
    { id: 'subnet-0b2', az: 'eu-west-1b' },
    { id: 'subnet-0c1', az: 'eu-west-1c' },
  ]
  services: FakeService[]
  /** how many DescribeServices polls a replacement task stays PENDING */
  replacementDelay = 1
  /** one shard (node group 0001) unless `nodeGroups` is set: cluster mode, members placed by `nodeGroup` */
  replicationGroup: {
    id: string
    status: string
    members: { id: string; az: string; role: string; nodeGroup?: string }[]
    nodeGroups?: { id: string; slots: string }[]
  } = {
    id: 'game-cache',
    status: 'available',
    members: [
      { id: 'game-cache-001', az: 'eu-west-1a', role: 'primary' },
      { id: 'game-cache-002', az: 'eu-west-1b', role: 'replica' },
      { id: 'game-cache-003', az: 'eu-west-1c', role: 'replica' },
    ],
  }
  firingAlarms: string[] = []
  templates = new Map<string, { input: CreateExperimentTemplateCommandInput | ExperimentTemplate; tags: Record<string, string> }>()
  experiments = new Map<string, FakeExperiment>()
  /** the states a started experiment passes through before running, one per GetExperiment */
  startStates = ['initiating', 'running']
  private seq = 0
  private readonly log: RecordedCall[] = []

  constructor(opts: { clientRegion?: string } = {}) {
    const region = opts.clientRegion ?? REGION
    this.clients = {
      ecs: new ECSClient({ region, credentials }),
      ec2: new EC2Client({ region, credentials }),
      fis: new FisClient({ region, credentials }),
      cloudwatch: new CloudWatchClient({ region, credentials }),
      sts: new STSClient({ region, credentials }),
      elasticache: new ElastiCacheClient({ region, credentials }),
    }
    const mocks = {} as FakeAws['mocks']
    for (const name of Object.keys(this.clients) as (keyof AwsClients)[]) {
      mocks[name] = mockClient(this.clients[name] as never)
    }
    this.mocks = mocks
    const mk = (service: string, count: number, azs: string[]): FakeService => ({
      name: `game-prod-${service}`,
      desired: count,
      tasks: Array.from({ length: count }, (_, i) => ({
        arn: taskArn(`game-prod-${service}`, i + 1),
        az: azs[i % azs.length],
        lastStatus: 'RUNNING',
        desiredStatus: 'RUNNING',
      })),
    })
    const azs = ['eu-west-1a', 'eu-west-1b', 'eu-west-1c']
    this.services = [
      mk('gateway', 3, azs),
      mk('inventory', 4, azs),
      mk('player-state', 4, azs),
      { ...mk('ai-integration', 6, azs), tags: { 'gameday:service': 'ai-integration' } },
    ]
    this.install()
  }

  /** A new AwsEnvironment over these clients. */
  environment(cfg: AwsConfig = testConfig()): AwsEnvironment {
    return new AwsEnvironment(cfg, { source: EXAMPLE_FILE, clients: this.clients })
  }

  /** Every call so far, in order. */
  calls(): RecordedCall[] {
    return [...this.log]
  }

  commands(): string[] {
    return this.log.map((c) => c.command)
  }

  mutatingCalls(): RecordedCall[] {
    return this.log.filter((c) => !isReadOnlyCommand(c.command))
  }

  callsOf(command: string): Record<string, unknown>[] {
    return this.log.filter((c) => c.command === command).map((c) => c.input)
  }

  clearCalls(): void {
    this.log.length = 0
  }

  restore(): void {
    for (const m of Object.values(this.mocks)) m.restore()
  }

  service(name: string): FakeService {
    const s = this.services.find((x) => x.name === name || x.name === `game-prod-${name}`)
    if (!s) throw new Error(`no fake service ${name}`)
    return s
  }

  private record(client: string, command: string, input: object): void {
    this.log.push({ client, command, input: structuredClone(input) as Record<string, unknown> })
  }

  private on<C extends new (...args: any[]) => { input: object }>(
    client: keyof AwsClients,
    command: C,
    fn: (input: InstanceType<C>['input']) => unknown,
  ): void {
    const name = command.name.replace(/Command$/, '')
    this.mocks[client].on(command as never).callsFake(async (input: InstanceType<C>['input']) => {
      this.record(client, name, input)
      return fn(input)
    })
  }

  private matchFilters(inst: FakeInstance, filters: Filter[] = []): boolean {
    const tags: Record<string, string> = { 'gameday:role': 'nats', 'gameday:cluster': 'core', 'gameday:node': inst.node }
    return filters.every((f) => {
      if (f.Name === 'instance-state-name') return f.Values?.includes(inst.state)
      if (f.Name?.startsWith('tag:')) return f.Values?.includes(tags[f.Name.slice(4)])
      return true
    })
  }

  private install(): void {
    this.on('sts', GetCallerIdentityCommand, () => ({
      Account: this.account,
      Arn: `arn:aws:sts::${this.account}:assumed-role/gameday/sre`,
      UserId: 'AROAFAKE:sre',
    }))

    // EC2
    this.on('ec2', DescribeInstancesCommand, (input) => {
      let found: FakeInstance[]
      if (input.InstanceIds?.length) {
        found = this.instances.filter((i) => input.InstanceIds!.includes(i.id))
        for (const i of found) if (i.next.length) i.state = i.next.shift()!
      } else found = this.instances.filter((i) => this.matchFilters(i, input.Filters))
      return {
        Reservations: found.map((i) => ({
          Instances: [
            {
              InstanceId: i.id,
              State: { Name: i.state as never },
              Placement: { AvailabilityZone: i.az },
              PrivateIpAddress: i.ip,
              PrivateDnsName: `ip-${i.ip.replaceAll('.', '-')}.${REGION}.compute.internal`,
              Tags: [
                { Key: 'gameday:role', Value: 'nats' },
                { Key: 'gameday:cluster', Value: 'core' },
                { Key: 'gameday:node', Value: i.node },
              ],
            },
          ],
        })),
      }
    })
    this.on('ec2', StopInstancesCommand, (input) => {
      for (const i of this.instances.filter((x) => input.InstanceIds?.includes(x.id))) {
        i.state = 'stopping'
        i.next = ['stopping', 'stopped']
      }
      return { StoppingInstances: input.InstanceIds?.map((InstanceId) => ({ InstanceId })) }
    })
    this.on('ec2', StartInstancesCommand, (input) => {
      for (const i of this.instances.filter((x) => input.InstanceIds?.includes(x.id))) {
        i.state = 'pending'
        i.next = ['pending', 'running']
      }
      return { StartingInstances: input.InstanceIds?.map((InstanceId) => ({ InstanceId })) }
    })
    this.on('ec2', TerminateInstancesCommand, (input) => {
      for (const i of this.instances.filter((x) => input.InstanceIds?.includes(x.id))) {
        i.state = 'shutting-down'
        i.next = ['terminated']
      }
      return { TerminatingInstances: input.InstanceIds?.map((InstanceId) => ({ InstanceId })) }
    })
    this.on('ec2', DescribeSubnetsCommand, () => ({
      Subnets: this.subnets.map((s) => ({
        SubnetId: s.id,
        AvailabilityZone: s.az,
        OwnerId: ACCOUNT,
        SubnetArn: `arn:aws:ec2:${REGION}:${ACCOUNT}:subnet/${s.id}`,
      })),
    }))

    // ECS
    this.on('ecs', DescribeClustersCommand, (input) => ({
      clusters: input.clusters?.includes(CLUSTER)
        ? [{ clusterName: CLUSTER, clusterArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${CLUSTER}`, status: 'ACTIVE' }]
        : [],
    }))
    this.on('ecs', ListServicesCommand, () => ({ serviceArns: this.services.map((s) => `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${CLUSTER}/${s.name}`) }))
    this.on('ecs', DescribeServicesCommand, (input) => {
      const names = (input.services ?? []).map((s) => s.split('/').pop()!)
      const found = this.services.filter((s) => names.includes(s.name))
      for (const s of found) this.progressService(s)
      return {
        services: found.map((s) => ({
          serviceName: s.name,
          serviceArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${CLUSTER}/${s.name}`,
          desiredCount: s.desired,
          runningCount: s.tasks.filter((t) => t.lastStatus === 'RUNNING').length,
          pendingCount: s.tasks.filter((t) => t.lastStatus === 'PENDING').length,
          ...(input.include?.includes('TAGS') && s.tags ? { tags: Object.entries(s.tags).map(([key, value]) => ({ key, value })) } : {}),
        })),
        failures: names.filter((n) => !found.some((s) => s.name === n)).map((n) => ({ arn: n, reason: 'MISSING' })),
      }
    })
    this.on('ecs', ListTasksCommand, (input) => {
      const s = this.services.find((x) => x.name === input.serviceName)
      if (s) this.progressService(s) // ECS works on, whoever asks
      return { taskArns: (s?.tasks ?? []).filter((t) => !input.desiredStatus || t.desiredStatus === input.desiredStatus).map((t) => t.arn) }
    })
    this.on('ecs', DescribeTasksCommand, (input) => {
      const all = this.services.flatMap((s) => s.tasks.map((t) => ({ s, t })))
      return {
        tasks: (input.tasks ?? []).flatMap((arn) => {
          const hit = all.find((x) => x.t.arn === arn)
          return hit
            ? [
                {
                  taskArn: hit.t.arn,
                  lastStatus: hit.t.lastStatus,
                  desiredStatus: hit.t.desiredStatus,
                  availabilityZone: hit.t.az,
                  group: `service:${hit.s.name}`,
                  startedAt: new Date('2026-01-01T00:00:00Z'),
                },
              ]
            : []
        }),
      }
    })
    this.on('ecs', StopTaskCommand, (input) => {
      for (const s of this.services) {
        for (const t of s.tasks) {
          if (t.arn === input.task) {
            t.desiredStatus = 'STOPPED'
            t.lastStatus = 'DEACTIVATING'
          }
        }
      }
      return { task: { taskArn: input.task, desiredStatus: 'STOPPED', stoppedReason: input.reason } }
    })

    // ElastiCache
    this.on('elasticache', DescribeReplicationGroupsCommand, (input) => {
      const rg = this.replicationGroup
      if (input.ReplicationGroupId !== rg.id) return { ReplicationGroups: [] }
      const status = rg.status
      if (status === 'modifying') rg.status = 'available' // a failover finishes after one look
      return {
        ReplicationGroups: [
          {
            ReplicationGroupId: rg.id,
            ARN: `arn:aws:elasticache:${REGION}:${ACCOUNT}:replicationgroup:${rg.id}`,
            Status: status,
            MultiAZ: 'enabled' as const,
            AutomaticFailover: 'enabled' as const,
            ClusterEnabled: !!rg.nodeGroups,
            NodeGroups: (rg.nodeGroups ?? [{ id: '0001', slots: undefined }]).map((g) => ({
              NodeGroupId: g.id,
              Slots: g.slots,
              PrimaryEndpoint: { Address: 'master.game-cache.abc123.euw1.cache.amazonaws.com', Port: 6379 },
              ReaderEndpoint: { Address: 'replica.game-cache.abc123.euw1.cache.amazonaws.com', Port: 6379 },
              NodeGroupMembers: rg.members
                .filter((m) => (m.nodeGroup ?? '0001') === g.id)
                .map((m) => ({ CacheClusterId: m.id, PreferredAvailabilityZone: m.az, CurrentRole: m.role })),
            })),
          },
        ],
      }
    })

    // a failover promotes the shard's first replica; the group reads 'modifying' for one describe
    this.on('elasticache', TestFailoverCommand, (input) => {
      const rg = this.replicationGroup
      const inGroup = rg.members.filter((m) => (m.nodeGroup ?? '0001') === input.NodeGroupId)
      if (input.ReplicationGroupId !== rg.id || !inGroup.length)
        throw Object.assign(new Error('ReplicationGroupNotFoundFault'), { name: 'ReplicationGroupNotFoundFault' })
      const primary = inGroup.find((m) => m.role === 'primary')!
      const promoted = inGroup.find((m) => m.role === 'replica')!
      primary.role = 'replica'
      promoted.role = 'primary'
      rg.status = 'modifying'
      return { ReplicationGroup: { ReplicationGroupId: rg.id, Status: 'modifying' } }
    })

    // CloudWatch
    this.on('cloudwatch', DescribeAlarmsCommand, (input) => ({
      MetricAlarms: (input.AlarmNames ?? []).filter((n) => this.firingAlarms.includes(n)).map((AlarmName) => ({ AlarmName, StateValue: 'ALARM' as const })),
      CompositeAlarms: [],
    }))

    // FIS
    this.on('fis', CreateExperimentTemplateCommand, (input) => {
      const id = `EXTgameday${String(++this.seq).padStart(4, '0')}`
      this.templates.set(id, { input, tags: input.tags ?? {} })
      return { experimentTemplate: { id, tags: input.tags } }
    })
    this.on('fis', GetExperimentTemplateCommand, (input) => {
      if (input.id === 'EXTexisting0001') {
        return {
          experimentTemplate: {
            id: input.id,
            description: 'stop one NATS instance in eu-west-1b',
            roleArn: `arn:aws:iam::${ACCOUNT}:role/gameday-fis`,
            stopConditions: [{ source: 'aws:cloudwatch:alarm', value: `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:game-prod-gateway-5xx-rate` }],
            targets: { Instances: { resourceType: 'aws:ec2:instance', resourceTags: { 'gameday:role': 'nats' }, selectionMode: 'COUNT(1)' } },
            actions: { stop: { actionId: 'aws:ec2:stop-instances', parameters: { startInstancesAfterDuration: 'PT5M' }, targets: { Instances: 'Instances' } } },
          },
        }
      }
      const t = this.templates.get(input.id!)
      if (!t) throw Object.assign(new Error(`template ${input.id} not found`), { name: 'ResourceNotFoundException' })
      return { experimentTemplate: { id: input.id, tags: t.tags } }
    })
    this.on('fis', StartExperimentCommand, (input) => {
      if (this.firingAlarms.length) throw Object.assign(new Error('stop condition alarm is in ALARM'), { name: 'ValidationException' })
      const id = `EXPgameday${String(++this.seq).padStart(4, '0')}`
      this.experiments.set(id, { id, templateId: input.experimentTemplateId!, status: 'pending', tags: input.tags ?? {}, next: [...this.startStates] })
      return { experiment: { id, experimentTemplateId: input.experimentTemplateId, state: { status: 'pending' as const }, tags: input.tags } }
    })
    this.on('fis', GetExperimentCommand, (input) => {
      const e = this.experiments.get(input.id!)
      if (!e) throw Object.assign(new Error(`experiment ${input.id} not found`), { name: 'ResourceNotFoundException' })
      if (e.next.length) e.status = e.next.shift()!
      return { experiment: { id: e.id, experimentTemplateId: e.templateId, state: { status: e.status as never }, tags: e.tags } }
    })
    this.on('fis', StopExperimentCommand, (input) => {
      const e = this.experiments.get(input.id!)
      if (!e) throw Object.assign(new Error(`experiment ${input.id} not found`), { name: 'ResourceNotFoundException' })
      e.status = 'stopping'
      e.next = ['stopping', 'stopped']
      return { experiment: { id: e.id, state: { status: 'stopping' as const } } }
    })
    this.on('fis', DeleteExperimentTemplateCommand, (input) => {
      if (!this.templates.delete(input.id!)) throw Object.assign(new Error(`template ${input.id} not found`), { name: 'ResourceNotFoundException' })
      return { experimentTemplate: { id: input.id } }
    })
    this.on('fis', ListExperimentsCommand, () => ({
      experiments: [...this.experiments.values()].map((e) => ({
        id: e.id,
        experimentTemplateId: e.templateId,
        state: { status: e.status as never },
        tags: e.tags,
      })),
    }))
    this.on('fis', ListExperimentTemplatesCommand, () => ({
      experimentTemplates: [...this.templates.entries()].map(([id, t]) => ({ id, tags: t.tags })),
    }))
  }

  /** ECS brings a service back to its desired count: stopped tasks go, replacements start. */
  private progressService(s: FakeService): void {
    for (const t of s.tasks) if (t.desiredStatus === 'STOPPED') t.lastStatus = 'STOPPED'
    s.tasks = s.tasks.filter((t) => t.lastStatus !== 'STOPPED')
    for (const t of s.tasks) if (t.lastStatus === 'PENDING') t.lastStatus = 'RUNNING'
    const live = s.tasks.length
    for (let i = live; i < s.desired; i++) {
      s.tasks.push({ arn: taskArn(s.name, 100 + ++this.seq), az: 'eu-west-1a', lastStatus: 'PENDING', desiredStatus: 'RUNNING' })
    }
  }
}

export interface CapturedLog extends Logger {
  lines: string[]
}

export function captureLog(): CapturedLog {
  const lines: string[] = []
  return { lines, info: (m) => void lines.push(m), warn: (m) => void lines.push(`WARN ${m}`) }
}

/** A FaultContext over an AWS environment, as the engine would build it. */
export function faultContext(
  env: AwsEnvironment,
  opts: { seed?: number; runId?: string; dryRun?: boolean; signal?: AbortSignal } = {},
): FaultContext & { log: CapturedLog; evidenceLog: { kind: string; data: Json }[] } {
  const evidenceLog: { kind: string; data: Json }[] = []
  return {
    env,
    runId: opts.runId ?? 'run-123',
    rng: createRng(opts.seed ?? 42).fork('method/0'),
    log: captureLog(),
    signal: opts.signal ?? new AbortController().signal,
    evidence: (kind, data) => void evidenceLog.push({ kind, data }),
    checkpoint: () => {},
    dryRun: opts.dryRun ?? false,
    evidenceLog,
  }
}
