/**
 * The state of a fake AWS account — EC2 instances, subnets, an ECS cluster with services and
 * tasks, an ElastiCache replication group, CloudWatch alarms, FIS templates and experiments —
 * and what each API call does to it. Things take time as on AWS, shrunk to `stepMs`: an
 * instance goes stopping → stopped, a stopped task is replaced (PENDING → RUNNING), an
 * experiment initiating → running → completed after its action's duration. Hooks let a test
 * make an instance's state real (stop and start a nats-server) and an experiment's actions
 * (freeze the NATS servers of a cut-off AZ).
 */
import { AwsFault } from './wire.ts'

export const ACCOUNT = '123456789012'
export const REGION = 'eu-west-1'
export const CLUSTER = 'game-prod'
export const EXISTING_TEMPLATE = 'EXTexisting0001'

export interface Instance {
  id: string
  node: string
  az: string
  ip: string
  state: string
}

/** A task; times in epoch seconds, as ECS's JSON carries them. */
export interface Task {
  arn: string
  az: string
  lastStatus: string
  desiredStatus: string
  createdAt: number
  /** when it reached RUNNING */
  startedAt?: number
  stoppingAt?: number
  stoppedAt?: number
  exitCode?: number
  stoppedReason?: string
}

export interface Service {
  name: string
  desired: number
  /** the tasks ECS keeps running (or starting) */
  tasks: Task[]
  /** tasks stopped lately (ListTasks desiredStatus STOPPED) */
  stopped: Task[]
  tags?: Record<string, string>
}

const now = () => Date.now() / 1000

export interface Experiment {
  id: string
  templateId: string
  status: string
  tags: Record<string, string>
  /** the template's actions, as created */
  actions: Record<string, { actionId: string; parameters?: Record<string, string> }>
  targets: Record<string, { resourceType: string; resourceArns?: string[] }>
}

export interface AccountHooks {
  /** an instance stopped (force: StopInstances Force=true) */
  stopped?(instance: Instance, force: boolean): Promise<void> | void
  /** an instance is starting: resolve when it serves */
  starting?(instance: Instance): Promise<void> | void
  /** an experiment began / ended acting */
  acting?(experiment: Experiment, on: boolean): Promise<void> | void
}

const arn = (kind: string, id: string, service = 'ecs') => `arn:aws:${service}:${REGION}:${ACCOUNT}:${kind}/${id}`
const taskArn = (service: string, n: number) => arn('task', `${CLUSTER}/${service.replace(/^game-prod-/, '')}${String(n).padStart(4, '0')}`)
const ACTIVE = ['pending', 'initiating', 'running', 'stopping']

/** ISO 8601 duration (PT1M, PT90S, PT1H) in ms. */
function isoMs(iso: string | undefined): number {
  const m = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$/.exec(iso ?? '')
  return m ? ((Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 1000 : 60_000
}

export class FakeAccount {
  account = ACCOUNT
  stepMs: number
  /** FIS action durations are multiplied by this (1: real time) */
  fisTimeScale = 1
  hooks: AccountHooks = {}
  instances: Instance[]
  subnets = [
    { id: 'subnet-0a1', az: 'eu-west-1a' },
    { id: 'subnet-0b1', az: 'eu-west-1b' },
    { id: 'subnet-0c1', az: 'eu-west-1c' },
  ]
  services: Service[]
  replicationGroup = {
    id: 'game-cache',
    status: 'available',
    members: [
      { id: 'game-cache-001', az: 'eu-west-1a', role: 'primary' },
      { id: 'game-cache-002', az: 'eu-west-1b', role: 'replica' },
    ],
  }
  firingAlarms: string[] = []
  /** the exit code of a stopped task's container: 0 drained in time, 137 killed after its stopTimeout */
  stopExitCode = 0
  templates = new Map<string, { input: Record<string, any>; tags: Record<string, string> }>()
  experiments = new Map<string, Experiment>()
  private seq = 0
  private readonly timers = new Set<NodeJS.Timeout>()

  constructor(opts: { stepMs?: number; nodes?: { node: string; az: string; ip: string }[] } = {}) {
    this.stepMs = opts.stepMs ?? 100
    this.instances = (
      opts.nodes ?? [
        { node: 'n1', az: 'eu-west-1a', ip: '10.0.1.11' },
        { node: 'n2', az: 'eu-west-1b', ip: '10.0.2.12' },
        { node: 'n3', az: 'eu-west-1c', ip: '10.0.3.13' },
      ]
    ).map((n, i) => ({ id: `i-${String(i + 1).padStart(17, '0')}`, ...n, state: 'running' }))
    const azs = ['eu-west-1a', 'eu-west-1b', 'eu-west-1c']
    const service = (name: string, count: number, tags?: Record<string, string>): Service => ({
      name: `game-prod-${name}`,
      desired: count,
      tasks: Array.from({ length: count }, (_, i) => ({
        arn: taskArn(name, i + 1),
        az: azs[i % 3],
        lastStatus: 'RUNNING',
        desiredStatus: 'RUNNING',
        createdAt: 1_767_225_590,
        startedAt: 1_767_225_600,
      })),
      stopped: [],
      ...(tags ? { tags } : {}),
    })
    this.services = [service('gateway', 3), service('inventory', 4), service('ai-integration', 4, { 'gameday:service': 'ai-integration' })]
    this.templates.set(EXISTING_TEMPLATE, {
      input: {
        description: 'stop one NATS instance',
        roleArn: `arn:aws:iam::${ACCOUNT}:role/gameday-fis`,
        stopConditions: [{ source: 'none' }],
        targets: { Instances: { resourceType: 'aws:ec2:instance', resourceTags: { 'gameday:role': 'nats' }, selectionMode: 'COUNT(1)' } },
        actions: { stop: { actionId: 'aws:ec2:stop-instances', parameters: { startInstancesAfterDuration: 'PT5M' }, targets: { Instances: 'Instances' } } },
      },
      tags: { team: 'sre' },
    })
  }

  /** Runs `fn` after `steps` × stepMs; every pending change is cancelled by close(). */
  later(steps: number, fn: () => unknown): void {
    const t = setTimeout(() => {
      this.timers.delete(t)
      void Promise.resolve()
        .then(fn)
        .catch((err) => console.error('fake aws:', err))
    }, steps * this.stepMs)
    this.timers.add(t)
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
  }

  service(name: string): Service {
    const s = this.services.find((x) => x.name === name || x.name === `game-prod-${name}` || x.name === name.split('/').pop())
    if (!s) throw new AwsFault('ServiceNotFoundException', `service ${name} not found`)
    return s
  }

  /** Experiments still acting, and templates gameday created: what must be gone after a recover. */
  leftovers(): { activeExperiments: string[]; gamedayTemplates: string[] } {
    return {
      activeExperiments: [...this.experiments.values()].filter((e) => ACTIVE.includes(e.status)).map((e) => `${e.id} ${e.status}`),
      gamedayTemplates: [...this.templates.entries()].filter(([, t]) => t.tags['gameday:managed-by'] === 'gameday').map(([id]) => id),
    }
  }

  // ── EC2 ──────────────────────────────────────────────────────────────────────────────────

  private tagsOf(i: Instance): Record<string, string> {
    return { 'gameday:role': 'nats', 'gameday:cluster': 'core', 'gameday:node': i.node }
  }

  private instanceXml(i: Instance) {
    const codes: Record<string, number> = { pending: 0, running: 16, 'shutting-down': 32, terminated: 48, stopping: 64, stopped: 80 }
    return {
      instanceId: i.id,
      instanceState: { code: codes[i.state] ?? 0, name: i.state },
      placement: { availabilityZone: i.az },
      privateIpAddress: i.ip,
      privateDnsName: `ip-${i.ip.replaceAll('.', '-')}.${REGION}.compute.internal`,
      tagSet: Object.entries(this.tagsOf(i)).map(([key, value]) => ({ key, value })),
    }
  }

  private byIds(ids: string[] | undefined): Instance[] {
    const found = this.instances.filter((i) => ids?.includes(i.id))
    if (ids?.length && found.length !== ids.length) throw new AwsFault('InvalidInstanceID.NotFound', `The instance IDs '${ids.join(', ')}' do not exist`)
    return found
  }

  ec2(op: string, input: Record<string, any>): Record<string, unknown> {
    switch (op) {
      case 'DescribeInstances': {
        const filters: { Name: string; Values: string[] }[] = input.Filters ?? []
        const found = input.InstanceIds?.length
          ? this.byIds(input.InstanceIds)
          : this.instances.filter((i) =>
              filters.every((f) =>
                f.Name === 'instance-state-name'
                  ? f.Values.includes(i.state)
                  : f.Name.startsWith('tag:')
                    ? f.Values.includes(this.tagsOf(i)[f.Name.slice(4)])
                    : true,
              ),
            )
        return { reservationSet: found.map((i) => ({ reservationId: `r-${i.id.slice(2)}`, instancesSet: [this.instanceXml(i)] })) }
      }
      case 'DescribeSubnets':
        return {
          subnetSet: this.subnets.map((s) => ({ subnetId: s.id, availabilityZone: s.az, ownerId: this.account, subnetArn: arn('subnet', s.id, 'ec2') })),
        }
      case 'StopInstances': {
        const force = input.Force === true
        const found = this.byIds(input.InstanceIds)
        for (const i of found) {
          if (i.state !== 'running' && i.state !== 'pending') continue
          i.state = 'stopping'
          this.later(1, async () => {
            await this.hooks.stopped?.(i, force)
            i.state = 'stopped'
          })
        }
        return { instancesSet: found.map((i) => ({ instanceId: i.id, currentState: { code: 64, name: i.state } })) }
      }
      case 'StartInstances': {
        const found = this.byIds(input.InstanceIds)
        for (const i of found) {
          if (i.state !== 'stopped') throw new AwsFault('IncorrectInstanceState', `The instance '${i.id}' is not in a state from which it can be started.`)
          i.state = 'pending'
          this.later(1, async () => {
            await this.hooks.starting?.(i)
            i.state = 'running'
          })
        }
        return { instancesSet: found.map((i) => ({ instanceId: i.id, currentState: { code: 0, name: 'pending' } })) }
      }
      default:
        throw new AwsFault('InvalidAction', `The action ${op} is not valid for this web service.`)
    }
  }

  // ── ECS ──────────────────────────────────────────────────────────────────────────────────

  private taskJson(s: Service, t: Task) {
    return {
      taskArn: t.arn,
      lastStatus: t.lastStatus,
      desiredStatus: t.desiredStatus,
      availabilityZone: t.az,
      group: `service:${s.name}`,
      clusterArn: arn('cluster', CLUSTER),
      createdAt: t.createdAt,
      ...(t.startedAt !== undefined ? { startedAt: t.startedAt } : {}),
      ...(t.stoppingAt !== undefined ? { stoppingAt: t.stoppingAt, stopCode: 'UserInitiated', stoppedReason: t.stoppedReason } : {}),
      ...(t.stoppedAt !== undefined ? { stoppedAt: t.stoppedAt, containers: [{ name: 'app', exitCode: t.exitCode ?? 0, lastStatus: 'STOPPED' }] } : {}),
    }
  }

  private serviceJson(s: Service, tags: boolean) {
    return {
      serviceName: s.name,
      serviceArn: arn('service', `${CLUSTER}/${s.name}`),
      desiredCount: s.desired,
      runningCount: s.tasks.filter((t) => t.lastStatus === 'RUNNING').length,
      pendingCount: s.tasks.filter((t) => t.lastStatus === 'PENDING').length,
      ...(tags && s.tags ? { tags: Object.entries(s.tags).map(([key, value]) => ({ key, value })) } : {}),
    }
  }

  ecs(op: string, input: Record<string, any>): Record<string, unknown> {
    if (input.cluster !== undefined && input.cluster !== CLUSTER && input.cluster !== arn('cluster', CLUSTER)) {
      throw new AwsFault('ClusterNotFoundException', 'Cluster not found.')
    }
    switch (op) {
      case 'DescribeClusters':
        return {
          clusters: input.clusters?.includes(CLUSTER) ? [{ clusterName: CLUSTER, clusterArn: arn('cluster', CLUSTER), status: 'ACTIVE' }] : [],
          failures: [],
        }
      case 'ListServices':
        return { serviceArns: this.services.map((s) => arn('service', `${CLUSTER}/${s.name}`)) }
      case 'DescribeServices': {
        const names: string[] = (input.services ?? []).map((s: string) => s.split('/').pop())
        const found = this.services.filter((s) => names.includes(s.name))
        return {
          services: found.map((s) => this.serviceJson(s, input.include?.includes('TAGS'))),
          failures: names.filter((n) => !found.some((s) => s.name === n)).map((n) => ({ arn: n, reason: 'MISSING' })),
        }
      }
      case 'ListTasks': {
        const s = this.service(input.serviceName)
        return { taskArns: [...s.tasks, ...s.stopped].filter((t) => !input.desiredStatus || t.desiredStatus === input.desiredStatus).map((t) => t.arn) }
      }
      case 'DescribeTasks': {
        const all = this.services.flatMap((s) => [...s.tasks, ...s.stopped].map((t) => ({ s, t })))
        return { tasks: all.filter((x) => input.tasks?.includes(x.t.arn)).map((x) => this.taskJson(x.s, x.t)), failures: [] }
      }
      case 'StopTask': {
        const hit = this.services.flatMap((s) => [...s.tasks, ...s.stopped].map((t) => ({ s, t }))).find((x) => x.t.arn === input.task)
        if (!hit) throw new AwsFault('InvalidParameterException', 'The referenced task was not found.')
        const { s, t } = hit
        if (t.desiredStatus !== 'STOPPED') {
          t.desiredStatus = 'STOPPED'
          t.lastStatus = 'DEACTIVATING'
          t.stoppingAt = now()
          t.stoppedReason = input.reason
          this.later(1, () => {
            t.lastStatus = 'STOPPED'
            t.stoppedAt = now()
            t.exitCode = this.stopExitCode
          })
          this.later(2, () => {
            s.tasks = s.tasks.filter((x) => x !== t)
            s.stopped.push(t)
            const replacement: Task = { arn: taskArn(s.name, 100 + ++this.seq), az: t.az, lastStatus: 'PENDING', desiredStatus: 'RUNNING', createdAt: now() }
            s.tasks.push(replacement)
            this.later(2, () => {
              replacement.lastStatus = 'RUNNING'
              replacement.startedAt = now()
            })
          })
        }
        return { task: { ...this.taskJson(s, t), stoppedReason: input.reason } }
      }
      default:
        throw new AwsFault('UnknownOperationException', `${op}`)
    }
  }

  // ── ElastiCache, STS, CloudWatch ─────────────────────────────────────────────────────────

  private groupXml() {
    const rg = this.replicationGroup
    return {
      ReplicationGroupId: rg.id,
      ARN: `arn:aws:elasticache:${REGION}:${this.account}:replicationgroup:${rg.id}`,
      Status: rg.status,
      MultiAZ: 'enabled',
      AutomaticFailover: 'enabled',
      ClusterEnabled: false,
      'NodeGroups:NodeGroup': [
        {
          NodeGroupId: '0001',
          PrimaryEndpoint: { Address: 'master.game-cache.fake.euw1.cache.amazonaws.com', Port: 6379 },
          ReaderEndpoint: { Address: 'replica.game-cache.fake.euw1.cache.amazonaws.com', Port: 6379 },
          'NodeGroupMembers:NodeGroupMember': rg.members.map((m) => ({ CacheClusterId: m.id, PreferredAvailabilityZone: m.az, CurrentRole: m.role })),
        },
      ],
    }
  }

  elasticache(op: string, input: Record<string, any>): Record<string, unknown> {
    const rg = this.replicationGroup
    if (input.ReplicationGroupId !== rg.id) throw new AwsFault('ReplicationGroupNotFoundFault', `ReplicationGroup ${input.ReplicationGroupId} not found.`, 404)
    if (op === 'DescribeReplicationGroups') return { 'ReplicationGroups:ReplicationGroup': [this.groupXml()] }
    if (op === 'TestFailover') {
      if (rg.status !== 'available') throw new AwsFault('InvalidReplicationGroupState', `Replication group ${rg.id} is ${rg.status}.`)
      rg.status = 'modifying'
      this.later(1, () => {
        for (const m of rg.members) m.role = m.role === 'primary' ? 'replica' : 'primary'
      })
      this.later(2, () => (rg.status = 'available'))
      return { ReplicationGroup: this.groupXml() }
    }
    throw new AwsFault('InvalidAction', op)
  }

  sts(op: string): Record<string, unknown> {
    if (op !== 'GetCallerIdentity') throw new AwsFault('InvalidAction', op)
    return { Arn: `arn:aws:sts::${this.account}:assumed-role/gameday/sre`, UserId: 'AROAFAKE:sre', Account: this.account }
  }

  cloudwatch(op: string, input: Record<string, any>): Record<string, unknown> {
    if (op !== 'DescribeAlarms') throw new AwsFault('UnknownOperationException', op)
    const firing = (input.AlarmNames ?? []).filter((n: string) => this.firingAlarms.includes(n))
    return { MetricAlarms: firing.map((AlarmName: string) => ({ AlarmName, StateValue: 'ALARM' })), CompositeAlarms: [] }
  }

  // ── FIS ──────────────────────────────────────────────────────────────────────────────────

  private experimentJson(e: Experiment) {
    return { id: e.id, experimentTemplateId: e.templateId, state: { status: e.status }, tags: e.tags }
  }

  private end(e: Experiment, status: 'stopped' | 'completed'): void {
    if (!ACTIVE.includes(e.status)) return
    const wasRunning = e.status === 'running' || e.status === 'stopping'
    e.status = status === 'stopped' ? 'stopping' : e.status
    this.later(status === 'stopped' ? 1 : 0, async () => {
      if (wasRunning) await this.hooks.acting?.(e, false)
      e.status = status
    })
  }

  fis(op: string, input: Record<string, any>): Record<string, unknown> {
    switch (op) {
      case 'CreateExperimentTemplate': {
        const id = `EXTgameday${String(++this.seq).padStart(4, '0')}`
        this.templates.set(id, { input, tags: input.tags ?? {} })
        return { experimentTemplate: { id, tags: input.tags, actions: input.actions, targets: input.targets } }
      }
      case 'GetExperimentTemplate': {
        const t = this.templates.get(input.id)
        if (!t) throw new AwsFault('ResourceNotFoundException', `Experiment template ${input.id} not found.`, 404)
        return { experimentTemplate: { id: input.id, ...t.input, tags: t.tags } }
      }
      case 'DeleteExperimentTemplate':
        if (!this.templates.delete(input.id)) throw new AwsFault('ResourceNotFoundException', `Experiment template ${input.id} not found.`, 404)
        return { experimentTemplate: { id: input.id } }
      case 'ListExperimentTemplates':
        return { experimentTemplates: [...this.templates.entries()].map(([id, t]) => ({ id, tags: t.tags })) }
      case 'StartExperiment': {
        const t = this.templates.get(input.experimentTemplateId)
        if (!t) throw new AwsFault('ResourceNotFoundException', `Experiment template ${input.experimentTemplateId} not found.`, 404)
        const alarms = (t.input.stopConditions ?? []).map((s: { value?: string }) => s.value?.split(':alarm:')[1]).filter(Boolean)
        if (alarms.some((a: string) => this.firingAlarms.includes(a))) throw new AwsFault('ValidationException', 'A stop condition alarm is in ALARM state.')
        const e: Experiment = {
          id: `EXPgameday${String(++this.seq).padStart(4, '0')}`,
          templateId: input.experimentTemplateId,
          status: 'initiating',
          tags: input.tags ?? {},
          actions: t.input.actions ?? {},
          targets: t.input.targets ?? {},
        }
        this.experiments.set(e.id, e)
        this.later(1, async () => {
          if (e.status !== 'initiating') return
          await this.hooks.acting?.(e, true)
          e.status = 'running'
          const longest = Math.max(...Object.values(e.actions).map((a) => isoMs(a.parameters?.duration ?? a.parameters?.startInstancesAfterDuration)))
          this.later(Math.ceil((longest * this.fisTimeScale) / this.stepMs), () => this.end(e, 'completed'))
        })
        return { experiment: this.experimentJson(e) }
      }
      case 'GetExperiment': {
        const e = this.experiments.get(input.id)
        if (!e) throw new AwsFault('ResourceNotFoundException', `Experiment ${input.id} not found.`, 404)
        return { experiment: this.experimentJson(e) }
      }
      case 'StopExperiment': {
        const e = this.experiments.get(input.id)
        if (!e) throw new AwsFault('ResourceNotFoundException', `Experiment ${input.id} not found.`, 404)
        if (!ACTIVE.includes(e.status)) throw new AwsFault('ValidationException', `Experiment ${e.id} is ${e.status}.`)
        this.end(e, 'stopped')
        return { experiment: this.experimentJson(e) }
      }
      case 'ListExperiments':
        return { experiments: [...this.experiments.values()].map((e) => this.experimentJson(e)) }
      default:
        throw new AwsFault('UnknownOperationException', op, 404)
    }
  }

  /** One call: what the service answers, or the AwsFault it raises. */
  call(service: string, op: string, input: Record<string, any>): Record<string, unknown> {
    switch (service) {
      case 'ec2':
        return this.ec2(op, input)
      case 'ecs':
        return this.ecs(op, input)
      case 'elasticache':
        return this.elasticache(op, input)
      case 'sts':
        return this.sts(op)
      case 'monitoring':
        return this.cloudwatch(op, input)
      case 'fis':
        return this.fis(op, input)
      default:
        throw new AwsFault('UnknownService', service)
    }
  }
}
