/** The network part on AWS: partitions and Redis links through FIS, refused before any call when AWS cannot express them. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BlastRadiusError, ValidationError } from '../../api/errors.ts'
import type { AwsEnvironment } from './environment.ts'
import { ACCOUNT, captureLog, CLUSTER, FakeAws, REGION, testConfig } from '../../../test/aws/support/mocked-account.ts'

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
