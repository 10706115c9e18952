import { ECSClient } from '@aws-sdk/client-ecs'
import { mockClient } from 'aws-sdk-client-mock'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AllowListError, BlastRadiusError, ValidationError } from '../../api/errors.ts'
import { AwsEnvironment, loadAwsEnvironment } from './environment.ts'
import { ACCOUNT, captureLog, CLUSTER, EXAMPLE_FILE, FakeAws, REGION, testConfig } from '../../../test/aws/support/mocked-account.ts'

let aws: FakeAws
beforeEach(() => {
  aws = new FakeAws()
})
afterEach(() => aws.restore())

const ctx = (runId = 'run-123', signal?: AbortSignal) => ({ runId, log: captureLog(), signal })
const ROLE = `arn:aws:iam::${ACCOUNT}:role/gameday-fis`
const ALARMS = [
  `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:game-prod-gateway-5xx-rate`,
  `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:game-prod-player-state-errors`,
]

async function discovered(cfg = testConfig()): Promise<AwsEnvironment> {
  const env = aws.environment(cfg)
  await env.up(captureLog())
  aws.clearCalls()
  return env
}

describe('AwsEnvironment: allow-list', () => {
  it('is built from the example file without any call, and asks for confirmation', async () => {
    const env = await loadAwsEnvironment(EXAMPLE_FILE, { clients: aws.clients })
    expect(env.kind).toBe('aws')
    expect(env.guardrails.requiresConfirmation).toBe(true)
    expect(env.source).toBe(EXAMPLE_FILE)
    expect(aws.calls()).toEqual([])
  })

  it('refuses credentials of another account after the one STS call, and calls nothing else', async () => {
    aws.account = '999999999999'
    const env = aws.environment()
    await expect(env.up(captureLog())).rejects.toBeInstanceOf(AllowListError)
    await expect(env.nodes.kill({ cluster: 'core', name: 'n1', az: 'az-a' })).rejects.toThrow(/account 999999999999/)
    expect(new Set(aws.commands())).toEqual(new Set(['GetCallerIdentity']))
  })

  it('refuses a client configured for another region before any call at all', async () => {
    const ecs = new ECSClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } })
    const stray = mockClient(ecs).rejects(new Error('must not be called'))
    const env = new AwsEnvironment(testConfig(), { clients: { ...aws.clients, ecs } })
    await expect(env.discover()).rejects.toThrow(/ecs client is configured for region us-east-1/)
    expect(aws.calls()).toEqual([])
    expect(stray.calls()).toEqual([])
    stray.restore()
  })

  it('refuses a config outside its own allow-list at construction', () => {
    expect(() => aws.environment(testConfig((c) => (c.ecs.cluster = 'billing-prod')))).toThrow(AllowListError)
    expect(() => aws.environment(testConfig((c) => (c.allow.regions = ['us-east-1'])))).toThrow(AllowListError)
    expect(aws.calls()).toEqual([])
  })
})

describe('AwsEnvironment: discovery', () => {
  it('up() finds everything by tags with read-only calls only', async () => {
    const env = aws.environment()
    const log = captureLog()
    await env.up(log)
    expect(aws.mutatingCalls()).toEqual([])
    expect(aws.commands()[0]).toBe('GetCallerIdentity')
    expect(aws.callsOf('DescribeInstances')[0]).toEqual({
      Filters: [
        { Name: 'tag:gameday:role', Values: ['nats'] },
        { Name: 'tag:gameday:cluster', Values: ['core'] },
        { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped', 'shutting-down'] },
      ],
    })
    expect(aws.callsOf('DescribeSubnets')[0]).toEqual({ Filters: [{ Name: 'tag:gameday:tier', Values: ['app'] }] })
    expect(aws.callsOf('DescribeReplicationGroups')[0]).toEqual({ ReplicationGroupId: 'game-cache' })
    expect(aws.callsOf('DescribeAlarms')[0]).toMatchObject({ AlarmNames: ['game-prod-gateway-5xx-rate', 'game-prod-player-state-errors'], StateValue: 'ALARM' })

    const topo = env.topology()
    expect(topo.azs).toEqual(['az-a', 'az-b', 'az-c'])
    expect(topo.clusters.core.nodes).toEqual([
      { cluster: 'core', name: 'n1', az: 'az-a' },
      { cluster: 'core', name: 'n2', az: 'az-a' },
      { cluster: 'core', name: 'n3', az: 'az-b' },
      { cluster: 'core', name: 'n4', az: 'az-b' },
      { cluster: 'core', name: 'n5', az: 'az-c' },
    ])
    expect(topo.services).toEqual({
      gateway: { name: 'gateway', desired: 3 },
      inventory: { name: 'inventory', desired: 4 },
      'player-state': { name: 'player-state', desired: 4 },
      'ai-integration': { name: 'ai-integration', desired: 6 },
    })
    expect(topo.caches).toEqual({ cache: { name: 'game-cache', az: 'az-a' } })
    expect(env.tasks.serviceName('ai-integration')).toBe('game-prod-ai-integration') // found by tag
    expect(log.lines.join('\n')).toMatch(/NATS core: n1=i-0000000000000001@az-a\(running\)/)
  })

  it('topology() before discovery says how to discover', () => {
    expect(() => aws.environment().topology()).toThrow(/call up\(\)/)
  })

  it('gives probes their endpoints, secrets resolved only when asked', async () => {
    const env = await discovered()
    expect(env.endpoints.natsServers('core')).toEqual(['tls://nats-1.game.internal:4222', 'tls://nats-2.game.internal:4222', 'tls://nats-3.game.internal:4222'])
    expect(env.endpoints.natsMonitor('core', 'n3')).toBe('http://10.0.2.13:8222')
    process.env.GAMEDAY_REDIS_AUTH = 'token-from-env'
    expect(env.endpoints.redis('cache')).toEqual({
      host: 'master.game-cache.abc123.euw1.cache.amazonaws.com',
      port: 6379,
      tls: true,
      password: 'token-from-env',
    })
    delete process.env.GAMEDAY_REDIS_AUTH
    expect(() => env.endpoints.redis('cache')).toThrow(/GAMEDAY_REDIS_AUTH is not set/)
    expect(env.endpoints.gateway()).toBe('https://gateway.game.internal')
    const opts = env.endpoints.natsOptions!('core')
    expect(opts.tls).toEqual({ caFile: expect.stringMatching(/\.gameday\/nats-ca\.pem$/) })
    expect(typeof opts.authenticator).toBe('function')
  })

  it('down() leaves AWS alone', async () => {
    const env = aws.environment()
    await env.down(captureLog())
    expect(aws.calls()).toEqual([])
  })
})

describe('AwsEnvironment: nodes on EC2', () => {
  const n3 = { cluster: 'core', name: 'n3', az: 'az-b' }

  it('kill = StopInstances Force, waiting for stopped; start = StartInstances, waiting for running', async () => {
    const env = await discovered()
    await env.nodes.kill(n3)
    expect(aws.callsOf('StopInstances')).toEqual([{ InstanceIds: ['i-0000000000000003'], Force: true }])
    expect(aws.callsOf('DescribeInstances').filter((i) => i.InstanceIds)).toHaveLength(2) // stopping, stopped
    expect(await env.nodes.isRunning(n3)).toBe(false)
    await env.nodes.start(n3)
    expect(aws.callsOf('StartInstances')).toEqual([{ InstanceIds: ['i-0000000000000003'] }])
    expect(aws.instances[2].state).toBe('running')
    expect(await env.nodes.isRunning(n3)).toBe(true)
    expect(aws.mutatingCalls().map((c) => c.command)).toEqual(['StopInstances', 'StartInstances'])
  })

  it('stop is a graceful StopInstances; start of a running node changes nothing', async () => {
    const env = await discovered()
    await env.nodes.start(n3)
    expect(aws.mutatingCalls()).toEqual([])
    await env.nodes.stop(n3)
    expect(aws.callsOf('StopInstances')).toEqual([{ InstanceIds: ['i-0000000000000003'] }])
  })

  it('killMode terminate: TerminateInstances, and start waits for the auto-scaling replacement', async () => {
    const env = await discovered(testConfig((c) => (c.nats.core.killMode = 'terminate')))
    await env.nodes.kill(n3)
    expect(aws.callsOf('TerminateInstances')).toEqual([{ InstanceIds: ['i-0000000000000003'] }])
    expect(aws.instances[2].state).toBe('terminated')
    const starting = env.nodes.start(n3)
    setTimeout(() => aws.instances.push({ id: 'i-00000000000000a3', node: 'n3', az: 'eu-west-1b', state: 'running', ip: '10.0.2.33', next: [] }), 20)
    await starting
    expect(aws.callsOf('StartInstances')).toEqual([])
    expect(env.endpoints.natsMonitor('core', 'n3')).toBe('http://10.0.2.33:8222')
  })

  it('gives up waiting after the bounded time', async () => {
    const env = await discovered(testConfig((c) => (c.timeouts.instance = 30)))
    aws.mocks.ec2.on((await import('@aws-sdk/client-ec2')).StopInstancesCommand).resolves({}) // the instance never stops
    await expect(env.nodes.stop(n3)).rejects.toThrow(/still running after 30ms/)
  })
})

describe('AwsEnvironment: tasks on ECS', () => {
  it('lists a service tasks, stops one with a reason, waits for the desired count', async () => {
    const env = await discovered()
    const tasks = await env.tasks.list('inventory')
    expect(aws.callsOf('ListTasks')).toEqual([{ cluster: CLUSTER, serviceName: 'game-prod-inventory', desiredStatus: 'RUNNING' }])
    expect(aws.callsOf('DescribeTasks')).toEqual([{ cluster: CLUSTER, tasks: tasks.map((t) => t.id) }])
    expect(tasks).toHaveLength(4)
    expect(tasks[0]).toMatchObject({
      service: 'inventory',
      state: 'RUNNING',
      az: 'az-a',
      id: expect.stringMatching(/^arn:aws:ecs:eu-west-1:123456789012:task\/game-prod\//),
    })
    await env.tasks.stop(tasks[1], { reason: 'gameday run-9' })
    expect(aws.callsOf('StopTask')).toEqual([{ cluster: CLUSTER, task: tasks[1].id, reason: 'gameday run-9' }])
    await env.tasks.waitForDesired('inventory', 2000)
    expect(aws.callsOf('DescribeServices').length).toBeGreaterThanOrEqual(2)
    const after = await env.tasks.list('inventory')
    expect(after.filter((t) => t.state === 'RUNNING')).toHaveLength(4)
    expect(after.map((t) => t.id)).not.toContain(tasks[1].id)
  })
})

describe('AwsEnvironment: partition through FIS', () => {
  const spec = {
    cluster: 'core',
    groups: [
      ['n3', 'n4'],
      ['n1', 'n2', 'n5'],
    ],
    azs: ['az-b'],
  }

  it('describes the calls without making any', async () => {
    const env = await discovered()
    const lines = env.network!.describePartition(spec)
    expect(lines[0]).toContain('fis:CreateExperimentTemplate')
    expect(lines[0]).toContain('aws:network:disrupt-connectivity {duration=PT30M,scope=availability-zone}')
    expect(lines[0]).toContain(`arns=[arn:aws:ec2:${REGION}:${ACCOUNT}:subnet/subnet-0b1,arn:aws:ec2:${REGION}:${ACCOUNT}:subnet/subnet-0b2]`)
    expect(lines.slice(1).map((l) => l.split(' ')[0])).toEqual(['fis:StartExperiment', 'fis:StopExperiment', 'fis:DeleteExperimentTemplate'])
    expect(aws.calls()).toEqual([])
  })

  it('creates a tagged template on the AZ subnets, starts it and waits until running; heal stops and deletes it', async () => {
    const env = await discovered()
    const state = await env.network!.partition({ ...spec, durationMs: 120_000 } as typeof spec, ctx())
    const [create] = aws.callsOf('CreateExperimentTemplate')
    expect(create).toEqual({
      clientToken: expect.any(String),
      description: 'gameday run-123: isolate az-b (eu-west-1b) from the other AZs',
      roleArn: ROLE,
      stopConditions: ALARMS.map((value) => ({ source: 'aws:cloudwatch:alarm', value })),
      targets: {
        Subnets: {
          resourceType: 'aws:ec2:subnet',
          resourceArns: [`arn:aws:ec2:${REGION}:${ACCOUNT}:subnet/subnet-0b1`, `arn:aws:ec2:${REGION}:${ACCOUNT}:subnet/subnet-0b2`],
          selectionMode: 'ALL',
        },
      },
      actions: {
        isolate: {
          actionId: 'aws:network:disrupt-connectivity',
          description: 'cut eu-west-1b from the other AZs',
          parameters: { duration: 'PT2M', scope: 'availability-zone' },
          targets: { Subnets: 'Subnets' },
        },
      },
      tags: { 'gameday:run-id': 'run-123', 'gameday:fault': 'network.partition', 'gameday:managed-by': 'gameday', Name: 'gameday-network.partition-run-123' },
      experimentOptions: { accountTargeting: 'single-account', emptyTargetResolutionMode: 'fail' },
    })
    expect(aws.callsOf('StartExperiment')).toEqual([
      {
        experimentTemplateId: 'EXTgameday0001',
        clientToken: expect.any(String),
        tags: { 'gameday:run-id': 'run-123', 'gameday:fault': 'network.partition', 'gameday:managed-by': 'gameday' },
      },
    ])
    expect(aws.callsOf('GetExperiment')).toHaveLength(2) // initiating, running
    expect(state).toEqual({
      kind: 'fis',
      fault: 'network.partition',
      runId: 'run-123',
      templateId: 'EXTgameday0001',
      ownsTemplate: true,
      experimentId: 'EXPgameday0002',
    })

    aws.clearCalls()
    await env.network!.heal(state, ctx())
    expect(aws.mutatingCalls()).toEqual([
      { client: 'fis', command: 'StopExperiment', input: { id: 'EXPgameday0002' } },
      { client: 'fis', command: 'DeleteExperimentTemplate', input: { id: 'EXTgameday0001' } },
    ])
    expect(aws.experiments.get('EXPgameday0002')!.status).toBe('stopped')
    // idempotent: healing again stops nothing, deletes nothing (no 404 on a deleted template), and says so
    aws.clearCalls()
    const again = ctx()
    await env.network!.heal(state, again)
    expect(aws.mutatingCalls()).toEqual([])
    expect(again.log.lines.at(-1)).toBe('fis (network.partition, run run-123): EXPgameday0002 had already ended')
  })

  it('heal with a null state (crash before the state was journaled) finds the experiment by its run-id tag', async () => {
    const env = await discovered()
    await env.network!.partition(spec, ctx('run-other'))
    await env.network!.partition(spec, ctx('run-crashed'))
    const recovering = aws.environment() // `gameday recover` builds a fresh environment
    aws.clearCalls()
    await recovering.network!.heal(null, ctx('run-crashed'))
    expect(aws.mutatingCalls()).toEqual([
      { client: 'fis', command: 'StopExperiment', input: { id: 'EXPgameday0004' } },
      { client: 'fis', command: 'DeleteExperimentTemplate', input: { id: 'EXTgameday0003' } },
    ])
    expect(aws.experiments.get('EXPgameday0002')!.status).toBe('running') // another run's experiment is untouched
  })

  it('abort while waiting stops the started experiment and deletes the template', async () => {
    const env = await discovered()
    aws.startStates = Array(1000).fill('initiating')
    const abort = new AbortController()
    const partition = env.network!.partition(spec, ctx('run-123', abort.signal))
    setTimeout(() => abort.abort(new Error('Ctrl-C')), 20)
    await expect(partition).rejects.toThrow(/aborted/)
    expect(aws.mutatingCalls().map((c) => c.command)).toEqual(['CreateExperimentTemplate', 'StartExperiment', 'StopExperiment', 'DeleteExperimentTemplate'])
    expect([...aws.experiments.values()][0].status).toBe('stopped')
    expect(aws.templates.size).toBe(0)
  })

  it('a start refused by FIS (stop condition firing) leaves no template behind', async () => {
    const env = await discovered()
    aws.firingAlarms = ['game-prod-gateway-5xx-rate']
    await expect(env.network!.partition(spec, ctx())).rejects.toThrow(/ALARM/)
    expect(aws.mutatingCalls().map((c) => c.command)).toEqual(['CreateExperimentTemplate', 'StartExperiment', 'DeleteExperimentTemplate'])
  })

  it('refuses partitions AWS cannot express, before any call', async () => {
    const env = await discovered()
    expect(() =>
      env.network!.describePartition({
        cluster: 'core',
        groups: [
          ['n1', 'n3'],
          ['n2', 'n4', 'n5'],
        ],
      }),
    ).toThrow(ValidationError)
    expect(() =>
      env.network!.describePartition({
        cluster: 'core',
        groups: [
          ['n1', 'n3'],
          ['n2', 'n4', 'n5'],
        ],
      }),
    ).toThrow(/whole AZs/)
    await expect(env.network!.partition({ cluster: 'core', groups: [['n3'], ['n1', 'n2', 'n4', 'n5']], azs: ['az-b'] }, ctx())).rejects.toThrow(
      /not aligned with AZs/,
    )
    await expect(env.network!.partition({ ...spec, oneWay: true }, ctx())).rejects.toThrow(/one way/)
    expect(aws.calls()).toEqual([])
  })

  it('derives the AZ from explicit groups made of whole AZs', async () => {
    const env = await discovered()
    expect(env.network.planPartition({ cluster: 'core', groups: [['n5'], ['n1', 'n2', 'n3', 'n4']] }).realAzs).toEqual(['eu-west-1c'])
    expect(env.network.planPartition({ cluster: 'core', groups: [['n1', 'n2', 'n3', 'n4'], ['n5']] }).azs).toEqual(['az-c'])
  })

  it('refuses to cut more AZs than the limit', async () => {
    const env = await discovered()
    await expect(
      env.network!.partition({ cluster: 'core', groups: [['n1', 'n2'], ['n3', 'n4'], ['n5']], azs: ['az-a', 'az-b'] }, ctx()),
    ).rejects.toBeInstanceOf(BlastRadiusError)
    expect(aws.mutatingCalls()).toEqual([])
  })
})

describe('AwsEnvironment: Redis links through FIS ECS task actions', () => {
  it('latency: aws:ecs:task-network-latency on each using service, sources = the Redis endpoint', async () => {
    const env = await discovered()
    const state = await env.network!.degradeCache({ cache: 'cache', latencyMs: 200, jitterMs: 20 }, ctx())
    const [create] = aws.callsOf('CreateExperimentTemplate') as { targets: object; actions: object; tags: object }[]
    expect(create.targets).toEqual({
      Tasksinventory: { resourceType: 'aws:ecs:task', parameters: { cluster: CLUSTER, service: 'game-prod-inventory' }, selectionMode: 'ALL' },
      Tasksplayerstate: { resourceType: 'aws:ecs:task', parameters: { cluster: CLUSTER, service: 'game-prod-player-state' }, selectionMode: 'ALL' },
    })
    expect(create.actions).toEqual({
      latencyinventory: {
        actionId: 'aws:ecs:task-network-latency',
        description: 'delay inventory → cache by 200ms',
        parameters: {
          duration: 'PT30M',
          delayMilliseconds: '200',
          jitterMilliseconds: '20',
          sources: 'master.game-cache.abc123.euw1.cache.amazonaws.com',
          useEcsFaultInjectionEndpoints: 'true',
        },
        targets: { Tasks: 'Tasksinventory' },
      },
      latencyplayerstate: {
        actionId: 'aws:ecs:task-network-latency',
        description: 'delay player-state → cache by 200ms',
        parameters: {
          duration: 'PT30M',
          delayMilliseconds: '200',
          jitterMilliseconds: '20',
          sources: 'master.game-cache.abc123.euw1.cache.amazonaws.com',
          useEcsFaultInjectionEndpoints: 'true',
        },
        targets: { Tasks: 'Tasksplayerstate' },
      },
    })
    expect(create.tags).toMatchObject({ 'gameday:run-id': 'run-123', 'gameday:fault': 'redis.degrade' })
    aws.clearCalls()
    await env.network!.restoreCache(state, ctx())
    expect(aws.mutatingCalls().map((c) => c.command)).toEqual(['StopExperiment', 'DeleteExperimentTemplate'])
  })

  it('down: aws:ecs:task-network-blackhole-port on the Redis port, egress tcp, for the chosen services', async () => {
    const env = await discovered()
    const lines = env.network!.describeCacheDegradation({ cache: 'cache', down: true, services: ['gateway'] })
    expect(lines[0]).toContain(
      'aws:ecs:task-network-blackhole-port {duration=PT30M,port=6379,protocol=tcp,trafficType=egress,useEcsFaultInjectionEndpoints=true}',
    )
    expect(aws.calls()).toEqual([])
    await env.network!.degradeCache({ cache: 'cache', down: true, services: ['gateway'] }, ctx())
    const [create] = aws.callsOf('CreateExperimentTemplate') as { actions: Record<string, { actionId: string; parameters: object }> }[]
    expect(Object.values(create.actions)).toEqual([
      {
        actionId: 'aws:ecs:task-network-blackhole-port',
        description: 'drop gateway → cache (tcp/6379)',
        parameters: { duration: 'PT30M', port: '6379', protocol: 'tcp', trafficType: 'egress', useEcsFaultInjectionEndpoints: 'true' },
        targets: { Tasks: 'Tasksgateway' },
      },
    ])
  })

  it('refuses a bandwidth cap, which Fargate cannot express, before any call', async () => {
    const env = await discovered()
    await expect(env.network!.degradeCache({ cache: 'cache', rateKBps: 64 }, ctx())).rejects.toThrow(/rateKBps.*cannot be expressed on ECS Fargate/)
    expect(aws.calls()).toEqual([])
  })
})

describe('AwsEnvironment: blast radius and alarms', () => {
  it('refuses more tasks, a larger share of a service, more instances or more AZs than allowed', async () => {
    const env = await discovered()
    const task = (n: number, service = 'ai-integration') => ({ kind: 'task' as const, id: `t${n}`, service })
    await env.checkBlastRadius('ecs.stop-task', [task(1), task(2), task(3)], 'plan')
    await expect(env.checkBlastRadius('ecs.stop-task', [task(1), task(2), task(3), task(4)], 'plan')).rejects.toThrow(
      /4 tasks at plan; the limit is maxTasks=3/,
    )
    await expect(env.checkBlastRadius('ecs.stop-task', [task(1), task(2), task(3)], 'inject')).resolves.toBeUndefined()
    await expect(env.checkBlastRadius('ecs.stop-task', [task(1, 'gateway'), task(2, 'gateway')], 'plan')).rejects.toThrow(
      /2 of the 3 running tasks of gateway \(67%\) at plan; the limit is maxTaskPercent=50/,
    )
    const node = (name: string, az: string) => ({ kind: 'node' as const, id: name, az })
    await expect(env.checkBlastRadius('nats.stop-node', [node('n1', 'az-a'), node('n3', 'az-b')], 'plan')).rejects.toThrow(/maxInstances=1/)
    await env.checkBlastRadius('nats.kill-node', [node('n1', 'az-a'), node('n3', 'az-b')], 'plan') // per-fault override: 2
    // counted by what the targets are, whatever the fault is called: nodes are instances, a link cuts the AZs of its groups
    await expect(env.checkBlastRadius('network.partition', [node('n3', 'az-b'), node('n4', 'az-b')], 'plan')).rejects.toThrow(/2 EC2 instances/)
    const link = (groups: string[][]) => ({ kind: 'link' as const, id: groups.map((g) => g.join(',')).join(' | '), cluster: 'core', groups })
    await env.checkBlastRadius(
      'network.partition',
      [
        link([
          ['n3', 'n4'],
          ['n1', 'n2', 'n5'],
        ]),
      ],
      'plan',
    ) // one AZ
    await expect(env.checkBlastRadius('network.partition', [link([['n1', 'n2'], ['n3', 'n4'], ['n5']])], 'plan')).rejects.toThrow(
      /would cut 2 AZs \(az-b, az-c\) at plan; the limit is maxAzs=1/,
    )
    await expect(
      env.checkBlastRadius(
        'custom.az-thing',
        [
          { kind: 'az', id: 'az-a' },
          { kind: 'az', id: 'az-b' },
        ],
        'plan',
      ),
    ).rejects.toThrow(/maxAzs=1/)
    // waves are hit one after another: each is counted alone
    await env.checkBlastRadius(
      'nats.stop-node',
      [
        { ...node('n1', 'az-a'), wave: 1 },
        { ...node('n3', 'az-b'), wave: 2 },
      ],
      'plan',
    )
    await expect(
      env.checkBlastRadius(
        'redis.az-power',
        [
          { kind: 'az', id: 'az-a' },
          { kind: 'az', id: 'az-b' },
        ],
        'inject',
      ),
    ).rejects.toThrow(/maxAzs=1/)
    expect(aws.mutatingCalls()).toEqual([])
  })

  it('never lets a fault stop every task of a service', async () => {
    const env = await discovered(testConfig((c) => (c.limits.maxTasks = 10)))
    aws.service('gateway').desired = 1
    aws.service('gateway').tasks.splice(1)
    await expect(env.checkBlastRadius('ecs.stop-task', [{ kind: 'task', id: 't', service: 'gateway' }], 'inject')).rejects.toThrow(
      /must keep at least one task/,
    )
  })

  it('alarmsFiring asks CloudWatch for the alarms in ALARM', async () => {
    const env = aws.environment()
    aws.firingAlarms = ['game-prod-player-state-errors']
    expect(await env.guard.alarmsFiring(ALARMS)).toEqual([ALARMS[1]])
    expect(aws.callsOf('DescribeAlarms')).toEqual([
      { AlarmNames: ['game-prod-gateway-5xx-rate', 'game-prod-player-state-errors'], StateValue: 'ALARM', AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] },
    ])
    expect(await env.guard.alarmsFiring([])).toEqual([])
  })
})
