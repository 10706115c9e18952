import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AllowListError, BlastRadiusError, GamedayError, UnsupportedError } from '../../../src/api/errors.ts'
import type { FaultSpec, FaultType } from '../../../src/api/fault.ts'
import type { TargetSelector } from '../../../src/api/selector.ts'
import type { AwsEnvironment } from '../../../src/environments/aws/environment.ts'
import { ACCOUNT, captureLog, CLUSTER, FakeAws, faultContext, REGION } from '../../../test/aws/support/mocked-account.ts'
import { ecsStopTask } from './ecs-stop-task.ts'
import { serviceStopTask } from '../service-task.ts'
import { fisExperiment } from './fis-experiment.ts'
import { redisAzPower } from './redis-az-power.ts'
import { redisFailover } from './redis-failover.ts'

let aws: FakeAws
let env: AwsEnvironment
beforeEach(async () => {
  aws = new FakeAws()
  env = aws.environment()
  await env.up(captureLog())
  aws.clearCalls()
})
afterEach(() => aws.restore())

function spec<P>(fault: FaultType<P, any>, target: TargetSelector, params: unknown = {}): FaultSpec<P> {
  return { type: fault.type, target, params: fault.params.parse(params) }
}

/** What `gameday plan` does with a fault: resolve, check the limits, describe. */

async function plan<P>(fault: FaultType<P, any>, s: FaultSpec<P>, seed = 42) {
  const ctx = faultContext(env, { seed, dryRun: true })
  const targets = await fault.resolve(ctx, s)
  await env.checkBlastRadius(fault.type, targets, 'plan')
  return { targets, lines: fault.describe(ctx, s, targets), ctx }
}

describe('awsFaults', () => {
  it('refuse to run on another environment', async () => {
    const ctx = faultContext(env)
    const local = { ...ctx, env: { ...env, kind: 'local', capability: () => undefined } } as unknown as typeof ctx
    await expect(ecsStopTask.resolve(local, spec(ecsStopTask, { service: 'gateway' }))).rejects.toThrow(GamedayError)
  })
})

describe('ecs.stop-task', () => {
  const target = { service: 'ai-integration', percent: 34 }

  it('plans with read-only calls only and lists the exact StopTask calls', async () => {
    const { targets, lines } = await plan(ecsStopTask, spec(ecsStopTask, target))
    expect(aws.mutatingCalls()).toEqual([])
    expect(new Set(aws.commands())).toEqual(new Set(['ListTasks', 'DescribeTasks', 'DescribeServices']))
    expect(targets).toHaveLength(3) // 34% of 6, rounded up
    expect(targets[0]).toMatchObject({ kind: 'task', service: 'ai-integration', ecsService: 'game-prod-ai-integration', cluster: CLUSTER })
    expect(lines).toEqual([
      ...targets.map((t) => `ecs:StopTask cluster=game-prod task=${t.id} reason="gameday run-123" (ai-integration in ${t.az})`),
      'wait for 3 replacement task(s) to be ready, within 2m',
      '(revert) wait until ai-integration runs its desired count of ready tasks, within 2m',
    ])
  })

  it('is service.stop-task, not a second implementation of it', () => {
    expect(ecsStopTask.params).toBe(serviceStopTask.params)
    expect(ecsStopTask.inject).toBe(serviceStopTask.inject)
    expect(ecsStopTask.revert).toBe(serviceStopTask.revert)
    expect(() => ecsStopTask.params.parse({ waitForRecovery: false })).toThrow(/waitForRecovery/)
  })

  it('picks the same tasks for the same seed, whatever order ECS lists them in', async () => {
    const pick = async (seed: number) => (await plan(ecsStopTask, spec(ecsStopTask, { service: 'ai-integration', count: 2 }), seed)).targets.map((t) => t.id)
    const first = await pick(7)
    aws.service('ai-integration').tasks.reverse()
    expect(await pick(7)).toEqual(first)
    const others = await Promise.all([1, 2, 3, 4, 5, 6].map((s) => pick(s)))
    expect(others.some((o) => JSON.stringify(o) !== JSON.stringify(first))).toBe(true)
  })

  it('injects StopTask with the run id as reason, waits for the replacements, and the revert waits for the desired count', async () => {
    const ctx = faultContext(env, { seed: 3 })
    const s = spec(ecsStopTask, { service: 'inventory', count: 2 })
    const targets = await ecsStopTask.resolve(ctx, s)
    await env.checkBlastRadius(ecsStopTask.type, targets, 'inject')
    const state = await ecsStopTask.inject(ctx, s, targets)
    expect(aws.mutatingCalls()).toEqual(
      targets.map((t) => ({ client: 'ecs', command: 'StopTask', input: { cluster: CLUSTER, task: t.id, reason: 'gameday run-123' } })),
    )
    expect(state).toEqual({ service: 'inventory', tasks: targets.map((t) => t.id) })
    expect(ctx.evidenceLog.map((e) => e.kind)).toEqual(['task.stopped', 'task.stopped'])
    expect(ctx.evidenceLog[0].data).toMatchObject({ service: 'inventory', action: 'stop', replacement: expect.any(String) })

    aws.clearCalls()
    await ecsStopTask.revert(ctx, s, state)
    expect(aws.mutatingCalls()).toEqual([])
    expect(aws.service('inventory').tasks.filter((t) => t.lastStatus === 'RUNNING')).toHaveLength(4)
    expect(aws.service('inventory').tasks.map((t) => t.arn)).not.toContain(targets[0].id)
  })

  it('reverts with the state derived from the targets (recover after a crash) by waiting on the service', async () => {
    const ctx = faultContext(env)
    const s = spec(ecsStopTask, { service: 'gateway', count: 1 })
    const state = ecsStopTask.stateFromTargets!(await ecsStopTask.resolve(ctx, s))
    aws.service('gateway').tasks[0].desiredStatus = 'STOPPED' // stopped by the crashed run
    aws.clearCalls()
    await ecsStopTask.revert(faultContext(aws.environment()), s, state)
    expect(aws.mutatingCalls()).toEqual([])
    expect(aws.service('gateway').tasks.filter((t) => t.lastStatus === 'RUNNING')).toHaveLength(3)
  })

  it('is refused on any environment but AWS, before any call', async () => {
    const ctx = faultContext(env)
    const local = { ...ctx, env: { ...env, kind: 'local', source: 'local.yaml', capability: () => undefined } } as unknown as typeof ctx
    aws.clearCalls()
    await expect(ecsStopTask.resolve(local, spec(ecsStopTask, { service: 'gateway' }))).rejects.toBeInstanceOf(UnsupportedError)
    await expect(ecsStopTask.resolve(local, spec(ecsStopTask, { service: 'gateway' }))).rejects.toThrow(
      /ecs.stop-task runs only with an AWS environment \(--env aws\), not local/,
    )
    expect(aws.calls()).toEqual([])
  })

  it('is refused at plan when it would stop more than the limits allow', async () => {
    await expect(plan(ecsStopTask, spec(ecsStopTask, { service: 'gateway', count: 2 }))).rejects.toThrow(/2 of the 3 running tasks of gateway/)
    await expect(plan(ecsStopTask, spec(ecsStopTask, { service: 'ai-integration', count: 4 }))).rejects.toThrow(/maxTasks=3/)
    expect(aws.mutatingCalls()).toEqual([])
  })

  it('is refused at injection when the live count shrank since the plan', async () => {
    const s = spec(ecsStopTask, { service: 'inventory', count: 2 })
    const { targets } = await plan(ecsStopTask, s) // 2 of 4: fine
    const inventory = aws.service('inventory')
    inventory.desired = 3
    inventory.tasks.splice(3) // scaled in before the step ran
    await expect(env.checkBlastRadius(ecsStopTask.type, targets, 'inject')).rejects.toBeInstanceOf(BlastRadiusError)
    await expect(env.checkBlastRadius(ecsStopTask.type, targets, 'inject')).rejects.toThrow(/2 of the 3 running tasks of inventory \(67%\) at injection/)
    expect(aws.mutatingCalls()).toEqual([])
  })

  it('restricts the pick to an AZ', async () => {
    const { targets } = await plan(ecsStopTask, spec(ecsStopTask, { service: 'ai-integration', az: 'az-b', count: 2 }))
    expect(targets.map((t) => t.az)).toEqual(['az-b', 'az-b'])
  })
})

describe('redis.az-power', () => {
  const expectedTemplate = (az: string, duration: string) => ({
    clientToken: expect.any(String),
    description: `gameday run-123: power off game-cache in ${az === 'eu-west-1a' ? 'az-a' : 'az-b'} (${az})`,
    roleArn: `arn:aws:iam::${ACCOUNT}:role/gameday-fis`,
    stopConditions: [
      { source: 'aws:cloudwatch:alarm', value: `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:game-prod-gateway-5xx-rate` },
      { source: 'aws:cloudwatch:alarm', value: `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:game-prod-player-state-errors` },
    ],
    targets: {
      ReplicationGroups: {
        resourceType: 'aws:elasticache:replicationgroup',
        resourceTags: { 'gameday:cache': 'game-cache' },
        parameters: { availabilityZoneIdentifier: az },
        selectionMode: 'ALL',
      },
    },
    actions: {
      azPower: {
        actionId: 'aws:elasticache:replicationgroup-interrupt-az-power',
        description: `interrupt power of ${az}`,
        parameters: { duration },
        targets: { ReplicationGroups: 'ReplicationGroups' },
      },
    },
    tags: { 'gameday:run-id': 'run-123', 'gameday:fault': 'redis.az-power', 'gameday:managed-by': 'gameday', Name: 'gameday-redis.az-power-run-123' },
    experimentOptions: { accountTargeting: 'single-account', emptyTargetResolutionMode: 'fail' },
  })

  it('plans against the primary AZ by default, with read-only calls only', async () => {
    const { targets, lines } = await plan(redisAzPower, spec(redisAzPower, { cache: 'cache' }))
    expect(aws.mutatingCalls()).toEqual([])
    expect(targets).toEqual([
      {
        kind: 'az',
        id: 'az-a',
        realAz: 'eu-west-1a',
        cache: 'cache',
        replicationGroup: 'game-cache',
        members: ['game-cache-001'],
        primaryInAz: true,
        fisTargetTags: { 'gameday:cache': 'game-cache' },
      },
    ])
    expect(lines[0]).toMatch(/^fis:CreateExperimentTemplate .*aws:elasticache:replicationgroup-interrupt-az-power \{duration=PT5M\}/)
    expect(lines[0]).toContain(
      'ReplicationGroups(aws:elasticache:replicationgroup tags={gameday:cache=game-cache} parameters={availabilityZoneIdentifier=eu-west-1a} selection=ALL)',
    )
  })

  it('creates, starts and waits for the experiment; the revert stops it, deletes the template and waits for the group', async () => {
    const ctx = faultContext(env)
    const s = spec(redisAzPower, { cache: 'cache', az: 'az-b' }, { duration: '3m' })
    const targets = await redisAzPower.resolve(ctx, s)
    const state = await redisAzPower.inject(ctx, s, targets)
    expect(aws.callsOf('CreateExperimentTemplate')).toEqual([expectedTemplate('eu-west-1b', 'PT3M')])
    expect(aws.callsOf('StartExperiment')[0]).toMatchObject({
      experimentTemplateId: state!.templateId,
      tags: { 'gameday:run-id': 'run-123', 'gameday:fault': 'redis.az-power' },
    })
    expect(aws.experiments.get(state!.experimentId!)!.status).toBe('running')

    aws.clearCalls()
    await redisAzPower.revert(ctx, s, state)
    expect(aws.mutatingCalls().map((c) => [c.command, c.input])).toEqual([
      ['StopExperiment', { id: state!.experimentId }],
      ['DeleteExperimentTemplate', { id: state!.templateId }],
    ])
    expect(aws.commands().at(-1)).toBe('DescribeReplicationGroups')
  })

  it('recover after a crash: a null state finds and stops the running experiment by its run-id tag', async () => {
    const s = spec(redisAzPower, { cache: 'cache' })
    const crashed = faultContext(env, { runId: 'run-crashed' })
    await redisAzPower.inject(crashed, s, await redisAzPower.resolve(crashed, s))
    const recovering = aws.environment()
    aws.clearCalls()
    await redisAzPower.revert(faultContext(recovering, { runId: 'run-crashed' }), s, null)
    expect(aws.mutatingCalls().map((c) => c.command)).toEqual(['StopExperiment', 'DeleteExperimentTemplate'])
    expect([...aws.experiments.values()].every((e) => e.status === 'stopped')).toBe(true)
    expect(aws.templates.size).toBe(0)
  })

  it('recover with the state derived from the journaled targets finds the experiment by tag too', async () => {
    const s = spec(redisAzPower, { cache: 'cache' })
    const crashed = faultContext(env, { runId: 'run-crashed' })
    const targets = await redisAzPower.resolve(crashed, s)
    await redisAzPower.inject(crashed, s, targets)
    aws.clearCalls()
    await redisAzPower.revert(faultContext(aws.environment(), { runId: 'run-crashed' }), s, redisAzPower.stateFromTargets!(targets))
    expect(aws.mutatingCalls().map((c) => c.command)).toEqual(['StopExperiment', 'DeleteExperimentTemplate'])
  })

  it('refuses an AZ without a node of the group and more than one AZ', async () => {
    aws.replicationGroup.members = aws.replicationGroup.members.filter((m) => m.az !== 'eu-west-1c')
    await expect(plan(redisAzPower, spec(redisAzPower, { cache: 'cache', az: 'az-c' }))).rejects.toThrow(/no node in eu-west-1c/)
    await expect(plan(redisAzPower, spec(redisAzPower, { cache: 'cache', az: ['az-a', 'az-b'] }))).rejects.toThrow(/one AZ at a time/)
  })
})

describe('redis.failover', () => {
  it('plans TestFailover on the shard of the primary with read-only calls only', async () => {
    const { targets, lines } = await plan(redisFailover, spec(redisFailover, { cache: 'cache' }))
    expect(aws.mutatingCalls()).toEqual([])
    expect(targets).toEqual([
      {
        kind: 'shard',
        id: 'cache/0001',
        cache: 'cache',
        az: 'az-a',
        replicationGroup: 'game-cache',
        nodeGroup: '0001',
        primary: 'game-cache-001',
        replicas: ['game-cache-002', 'game-cache-003'],
        slots: '0-16383',
      },
    ])
    expect(lines).toEqual([
      'elasticache:TestFailover ReplicationGroupId=game-cache NodeGroupId=0001 (primary game-cache-001 in az-a, slots 0-16383; a replica of game-cache-002, game-cache-003 is promoted)',
      'revert: no call undoes a failover; waits for game-cache to be available',
    ])
  })

  it('fails the primary over, and the revert only waits for the group to be available with a new primary', async () => {
    const ctx = faultContext(env)
    const s = spec(redisFailover, { cache: 'cache' })
    const state = await redisFailover.inject(ctx, s, await redisFailover.resolve(ctx, s))
    expect(aws.mutatingCalls().map((c) => [c.command, c.input])).toEqual([['TestFailover', { ReplicationGroupId: 'game-cache', NodeGroupId: '0001' }]])
    aws.clearCalls()
    await redisFailover.revert(ctx, s, state)
    expect(aws.mutatingCalls()).toEqual([])
    expect(aws.commands()).toEqual(['DescribeReplicationGroups', 'DescribeReplicationGroups']) // modifying, then available
    expect(aws.replicationGroup.members.find((m) => m.role === 'primary')!.id).toBe('game-cache-002')
  })

  it('recover after a crash: the state derived from the journaled targets waits for the group, and calls nothing that mutates', async () => {
    const s = spec(redisFailover, { cache: 'cache' })
    const crashed = faultContext(env, { runId: 'run-crashed' })
    const targets = await redisFailover.resolve(crashed, s)
    await redisFailover.inject(crashed, s, targets)
    aws.clearCalls()
    await redisFailover.revert(faultContext(aws.environment(), { runId: 'run-crashed' }), s, redisFailover.stateFromTargets!(targets))
    expect(aws.mutatingCalls()).toEqual([])
    expect(aws.commands().filter((c) => c === 'DescribeReplicationGroups').length).toBeGreaterThanOrEqual(2)
    expect(aws.replicationGroup.status).toBe('available')
  })

  it('is refused at plan when the group cannot fail over', async () => {
    aws.replicationGroup.members = aws.replicationGroup.members.slice(0, 1)
    await expect(plan(redisFailover, spec(redisFailover, { cache: 'cache' }))).rejects.toThrow(/shard 0001 of game-cache has no replica to promote/)
    aws.replicationGroup.status = 'modifying'
    await expect(plan(redisFailover, spec(redisFailover, { cache: 'cache' }))).rejects.toThrow(/game-cache is modifying, not available/)
    await expect(plan(redisFailover, spec(redisFailover, { cache: 'nope' }))).rejects.toThrow(/unknown cache "nope"/)
    expect(aws.mutatingCalls()).toEqual([])
  })
})

describe('redis.failover on a cluster-mode group (a shard per node group)', () => {
  beforeEach(() => {
    const shard = (n: number, azs: string[]) =>
      azs.map((az, i) => ({ id: `game-cache-000${n}-00${i + 1}`, az, role: i === 0 ? 'primary' : 'replica', nodeGroup: `000${n}` }))
    aws.replicationGroup.nodeGroups = [
      { id: '0001', slots: '0-5460' },
      { id: '0002', slots: '5461-10922' },
      { id: '0003', slots: '10923-16383' },
    ]
    aws.replicationGroup.members = [
      ...shard(1, ['eu-west-1a', 'eu-west-1b']),
      ...shard(2, ['eu-west-1b', 'eu-west-1c']),
      ...shard(3, ['eu-west-1c', 'eu-west-1a']),
    ]
  })

  it('fails over the node group owning a key, and only that one', async () => {
    // player:1 hashes to slot 8684 (CRC16 mod 16384), served by node group 0002
    const { targets, lines } = await plan(redisFailover, spec(redisFailover, { cache: 'cache', key: 'player:1' }))
    expect(targets.map((t) => [t.id, t.primary, t.az, t.slots])).toEqual([['cache/0002', 'game-cache-0002-001', 'az-b', '5461-10922']])
    expect(lines[0]).toMatch(
      /^elasticache:TestFailover ReplicationGroupId=game-cache NodeGroupId=0002 \(primary game-cache-0002-001 in az-b, slots 5461-10922;/,
    )
    const ctx = faultContext(env)
    const s = spec(redisFailover, { cache: 'cache', key: 'player:1' })
    await redisFailover.inject(ctx, s, await redisFailover.resolve(ctx, s))
    expect(aws.mutatingCalls().map((c) => [c.command, c.input])).toEqual([['TestFailover', { ReplicationGroupId: 'game-cache', NodeGroupId: '0002' }]])
    expect(aws.replicationGroup.members.filter((m) => m.role === 'primary').map((m) => m.id)).toEqual([
      'game-cache-0001-001',
      'game-cache-0002-002',
      'game-cache-0003-001',
    ])
  })

  it('selects by slot, shard number and the AZ of the primary; an unknown one is refused', async () => {
    const ids = async (target: TargetSelector) => (await plan(redisFailover, spec(redisFailover, target))).targets.map((t) => t.id)
    expect(await ids({ cache: 'cache', slot: 16000 })).toEqual(['cache/0003'])
    expect(await ids({ cache: 'cache', shard: 1 })).toEqual(['cache/0001'])
    expect(await ids({ cache: 'cache', az: 'az-c' })).toEqual(['cache/0003'])
    await expect(plan(redisFailover, spec(redisFailover, { cache: 'cache', shard: 7 }))).rejects.toThrow(
      /no node group 7 in game-cache \(has 0001, 0002, 0003\)/,
    )
    expect(aws.mutatingCalls()).toEqual([])
  })

  it('counts shards against maxShards (default 1): two at once is refused at plan', async () => {
    await expect(plan(redisFailover, spec(redisFailover, { cache: 'cache', count: 2 }))).rejects.toThrow(
      /redis.failover would fail over 2 cache shards \(cache\/000\d, cache\/000\d\) at plan; the limit is maxShards=1/,
    )
    await expect(plan(redisFailover, spec(redisFailover, { cache: 'cache', count: 4 }))).rejects.toThrow(/count: 4 asks for more than the 3 shards/)
    expect(aws.mutatingCalls()).toEqual([])
  })
})

describe('aws.fis-experiment', () => {
  it('refuses a template that is not allow-listed, before any call', async () => {
    await expect(plan(fisExperiment, spec(fisExperiment, {}, { templateId: 'EXTnotallowed' }))).rejects.toBeInstanceOf(AllowListError)
    expect(aws.calls()).toEqual([])
  })

  it('plans from GetExperimentTemplate only', async () => {
    const { targets, lines } = await plan(fisExperiment, spec(fisExperiment, {}, { templateId: 'EXTexisting0001' }))
    expect(aws.commands()).toEqual(['GetExperimentTemplate'])
    expect(targets[0]).toMatchObject({ kind: 'other', id: 'EXTexisting0001', actions: ['aws:ec2:stop-instances {startInstancesAfterDuration=PT5M}'] })
    expect(lines).toEqual([
      'fis:StartExperiment experimentTemplateId=EXTexisting0001 tags={gameday:run-id=run-123,gameday:fault=aws.fis-experiment} (actions: aws:ec2:stop-instances {startInstancesAfterDuration=PT5M}; targets: Instances: aws:ec2:instance tags={gameday:role=nats} COUNT(1))',
      'fis:StopExperiment id=<started> (on revert or abort, if still running)',
    ])
  })

  it('starts the template, waits until running; the revert stops it and leaves the template alone', async () => {
    const ctx = faultContext(env)
    const s = spec(fisExperiment, {}, { templateId: 'EXTexisting0001' })
    const state = await fisExperiment.inject(ctx, s, await fisExperiment.resolve(ctx, s))
    expect(aws.callsOf('StartExperiment')).toEqual([
      {
        experimentTemplateId: 'EXTexisting0001',
        clientToken: expect.any(String),
        tags: { 'gameday:run-id': 'run-123', 'gameday:fault': 'aws.fis-experiment', 'gameday:managed-by': 'gameday' },
      },
    ])
    expect(state).toMatchObject({ templateId: 'EXTexisting0001', ownsTemplate: false })
    aws.clearCalls()
    await fisExperiment.revert(ctx, s, state)
    expect(aws.mutatingCalls()).toEqual([{ client: 'fis', command: 'StopExperiment', input: { id: state!.experimentId } }])
  })

  it("recover: a null state stops this run's experiment of that template, found by tag", async () => {
    const s = spec(fisExperiment, {}, { templateId: 'EXTexisting0001' })
    const crashed = faultContext(env, { runId: 'run-crashed' })
    const started = await fisExperiment.inject(crashed, s, [])
    const other = await fisExperiment.inject(faultContext(env, { runId: 'run-other' }), s, [])
    aws.clearCalls()
    await fisExperiment.revert(faultContext(aws.environment(), { runId: 'run-crashed' }), s, null)
    expect(aws.mutatingCalls()).toEqual([{ client: 'fis', command: 'StopExperiment', input: { id: started!.experimentId } }])
    expect(aws.experiments.get(other!.experimentId!)!.status).toBe('running')
  })

  it("stateFromTargets keeps the template (not gameday's) and finds the experiment by tag", async () => {
    const s = spec(fisExperiment, {}, { templateId: 'EXTexisting0001' })
    const ctx = faultContext(env)
    const targets = await fisExperiment.resolve(ctx, s)
    const started = await fisExperiment.inject(ctx, s, targets)
    aws.clearCalls()
    await fisExperiment.revert(ctx, s, fisExperiment.stateFromTargets!(targets))
    expect(aws.mutatingCalls()).toEqual([{ client: 'fis', command: 'StopExperiment', input: { id: started!.experimentId } }])
  })

  it('waits for completion when asked', async () => {
    aws.startStates = ['initiating', 'running', 'running', 'completed']
    const s = spec(fisExperiment, {}, { templateId: 'EXTexisting0001', waitFor: 'completed' })
    const ctx = faultContext(env)
    const state = await fisExperiment.inject(ctx, s, [])
    expect(aws.experiments.get(state!.experimentId!)!.status).toBe('completed')
    aws.clearCalls()
    await fisExperiment.revert(ctx, s, state)
    expect(aws.mutatingCalls()).toEqual([])
  })
})

describe('plan never mutates', () => {
  it('resolving and describing every AWS fault and network control sends only Describe/List/Get', async () => {
    await plan(ecsStopTask, spec(ecsStopTask, { service: 'player-state', count: 1 }))
    await plan(redisAzPower, spec(redisAzPower, { cache: 'cache', az: 'az-c' }))
    await plan(fisExperiment, spec(fisExperiment, {}, { templateId: 'EXTexisting0001' }))
    env.network!.describePartition({ cluster: 'core', groups: [['n5'], ['n1', 'n2', 'n3', 'n4']], azs: ['az-c'] })
    env.network!.describeCacheDegradation({ cache: 'cache', latencyMs: 100 })
    env.nodes.describe('kill', { cluster: 'core', name: 'n1', az: 'az-a' })
    expect(aws.calls().length).toBeGreaterThan(0)
    expect(aws.calls().filter((c) => !/^(Describe|List|Get)/.test(c.command))).toEqual([])
  })
})
