/** The AWS environment: allow-list, discovery, EC2 nodes and ECS tasks, through mocked SDK clients. */
import { ECSClient } from '@aws-sdk/client-ecs'
import { mockClient } from 'aws-sdk-client-mock'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { dirname, join } from 'node:path'
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts'
import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch'
import { AWS } from '../../api/aws.ts'
import { AllowListError, DiscoveryError, UnsupportedError } from '../../api/errors.ts'
import { AwsEnvironment, loadAwsEnvironment } from './environment.ts'
import { captureLog, CLUSTER, EXAMPLE_FILE, FakeAws, testConfig } from '../../../test/aws/support/mocked-account.ts'

let aws: FakeAws
beforeEach(() => {
  aws = new FakeAws()
})
afterEach(() => aws.restore())

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
    expect(() => aws.environment().topology()).toThrow(DiscoveryError)
    expect(() => aws.environment().topology()).toThrow(/call up\(\)/)
  })

  it('after a failed discovery, topology() says why — the cause and what to do — not "not discovered"', async () => {
    aws.mocks.sts
      .on(GetCallerIdentityCommand)
      .rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }))
    const env = aws.environment()
    await expect(env.discover()).rejects.toBeInstanceOf(DiscoveryError)
    expect(() => env.topology()).toThrow(
      /^no usable AWS credentials for account 123456789012 in eu-west-1 \(Could not load credentials from any providers\)\. Log in — e\.g\. `aws sso login --profile <profile>`/,
    )
    await expect(env.isUp()).rejects.toBeInstanceOf(DiscoveryError) // not "down": gameday never starts AWS
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

describe('AwsEnvironment: what plan is told', () => {
  const n1 = { cluster: 'core', name: 'n1', az: 'az-a' }

  it('nodes: the exact EC2 calls; what EC2 cannot do is refused with an UnsupportedError', async () => {
    const env = await discovered()
    expect(env.nodes.describe('kill', n1)).toEqual([
      'ec2:StopInstances InstanceIds=[i-0000000000000001] Force=true',
      'ec2:StartInstances InstanceIds=[i-0000000000000001] (on revert)',
    ])
    for (const action of ['pause', 'resume', 'lameDuck'] as const) expect(() => env.nodes.describe(action, n1)).toThrow(UnsupportedError)
    expect(() => env.nodes.describe('pause', n1)).toThrow(/AWS cannot freeze a NATS server: EC2 has no pause/)
    expect(aws.calls()).toEqual([])
  })

  it('tasks: StopTask as sent, and a grace ECS cannot apply said to be ignored, not shown as applied', async () => {
    const env = await discovered()
    const task = { service: 'gateway', id: 'arn:aws:ecs:eu-west-1:123456789012:task/game-prod/gateway0001', state: 'RUNNING', az: 'az-a' }
    expect(env.tasks.describe('stop', task, { reason: 'gameday plan' })).toEqual([
      `ecs:StopTask cluster=game-prod task=${task.id} reason="gameday plan" (gateway in az-a)`,
    ])
    expect(env.tasks.describe('stop', task, { graceMs: 10_000, reason: 'gameday plan' })[0]).toMatch(
      /reason="gameday plan" \(gateway in az-a\) — grace 10s is NOT applied: ECS sends SIGTERM, then SIGKILL after the task definition's stopTimeout$/,
    )
    expect(env.tasks.describe('kill', task)[0]).toMatch(/reason="gameday: kill task .*ECS has no SIGKILL-only stop/)
    expect(env.tasks.pollIntervalMs).toBe(1)
  })

  it('the gateway CA, resolved from the environment file', () => {
    expect(aws.environment().endpoints.gatewayCaFile!()).toBeUndefined()
    const env = aws.environment(testConfig((c) => (c.gateway = { url: 'https://gateway.game.internal', caFile: 'ca/gateway.pem' })))
    expect(env.endpoints.gatewayCaFile!()).toBe(join(dirname(EXAMPLE_FILE), 'ca', 'gateway.pem'))
  })
})

describe('AwsEnvironment: the CloudWatch part of the capability (the cloudwatch probe)', () => {
  const query = {
    id: 'm',
    metric: { namespace: 'AWS/ApplicationELB', name: 'HTTPCode_Target_5XX_Count', dimensions: {}, stat: 'Sum' },
    periodSeconds: 60,
    returnData: true,
  }

  it("GetMetricData through the environment's client, after the allow-list", async () => {
    aws.mocks.cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'm', Timestamps: [new Date(0)], Values: [3], StatusCode: 'Complete' }] })
    const env = aws.environment()
    const values = await env.capability(AWS)!.cloudwatch.getMetricData([query], new Date(0), new Date(60_000))
    expect(values).toEqual([{ id: 'm', timestamps: [new Date(0)], values: [3], status: 'Complete', messages: [] }])
    expect(aws.mocks.cloudwatch.commandCalls(GetMetricDataCommand)).toHaveLength(1)
  })

  it('refused for credentials of another account, before GetMetricData', async () => {
    aws.account = '999999999999'
    const env = aws.environment()
    await expect(env.capability(AWS)!.cloudwatch.getMetricData([query], new Date(0), new Date(60_000))).rejects.toBeInstanceOf(AllowListError)
    expect(aws.mocks.cloudwatch.commandCalls(GetMetricDataCommand)).toEqual([])
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
