/**
 * The AWS environment against the fake account over real HTTP: the real SDK clients, their
 * own endpoint override, the real wire protocols (EC2 Query, Query, JSON 1.0/1.1, REST-JSON).
 * Every part of the environment is driven once through the wire, and nothing is signed with
 * anything but the dummy key.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { AWS } from '../../src/api/aws.ts'
import { AllowListError, DiscoveryError } from '../../src/api/errors.ts'
import type { AwsEnvironment } from '../../src/environments/aws/environment.ts'
import { FakeAccount } from './support/fake-aws/account.ts'
import { FakeAwsServer } from './support/fake-aws/server.ts'
import { DUMMY_KEY, fakeEnvironment, gamedayDone, isolatedAwsEnv, writeFakeEnvFile } from './support/fake-env.ts'
import { captureLog, faultContext } from './support/mocked-account.ts'
import { serviceStopTask } from '../../plugins/faults/service-task.ts'

let dir: string
let aws: FakeAwsServer
let env: AwsEnvironment
const ctx = (runId = 'run-1') => ({ runId, log: captureLog() })

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gameday-fake-aws-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))
beforeEach(async () => {
  aws = await FakeAwsServer.start(new FakeAccount({ stepMs: 20 }))
  env = await fakeEnvironment(writeFakeEnvFile(dir, { endpoint: aws.endpoint, pollInterval: '10ms' }), aws.endpoint)
})
afterEach(async () => {
  await env.close()
  await aws.close()
})

describe('the AWS environment over the wire, against the fake account', () => {
  it('discovers everything by tags, read-only, signed with the dummy key only, sent to the endpoint override only', async () => {
    await env.up(captureLog())
    expect(aws.calls.map((c) => `${c.service}:${c.operation}`)).toEqual([
      'sts:GetCallerIdentity',
      'ecs:DescribeClusters',
      'ec2:DescribeInstances',
      'ec2:DescribeSubnets',
      'ecs:DescribeServices',
      'ecs:ListServices',
      'ecs:DescribeServices',
      'elasticache:DescribeReplicationGroups',
      'monitoring:DescribeAlarms',
    ])
    expect(new Set(aws.calls.map((c) => c.accessKeyId))).toEqual(new Set([DUMMY_KEY]))
    expect(aws.mutatingCalls()).toEqual([])
    expect(env.config.endpoint).toBe(aws.endpoint)
    expect(env.config.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const topo = env.topology()
    expect(topo.clusters.core.nodes).toEqual([
      { cluster: 'core', name: 'n1', az: 'az-a' },
      { cluster: 'core', name: 'n2', az: 'az-b' },
      { cluster: 'core', name: 'n3', az: 'az-c' },
    ])
    expect(topo.services['ai-integration']).toEqual({ name: 'ai-integration', desired: 4 }) // found by tag
    expect(topo.caches.cache).toEqual({ name: 'game-cache', az: 'az-a' })
  })

  it('EC2: kill waits until stopped, start until running', async () => {
    await env.discover()
    const n2 = { cluster: 'core', name: 'n2', az: 'az-b' }
    await env.nodes.kill(n2)
    expect(aws.account.instances[1].state).toBe('stopped')
    await env.nodes.start(n2)
    expect(aws.account.instances[1].state).toBe('running')
    expect(aws.mutatingCalls().map((c) => [c.operation, c.input])).toEqual([
      ['StopInstances', { InstanceIds: ['i-00000000000000002'], Force: true }],
      ['StartInstances', { InstanceIds: ['i-00000000000000002'] }],
    ])
  })

  it('ECS: StopTask with the reason, then waits for the desired count through DescribeServices', async () => {
    await env.discover()
    const [task] = await env.tasks.list('inventory')
    await env.tasks.stop(task, { reason: 'gameday run-1' })
    await env.tasks.waitForDesired('inventory', 5000)
    const tasks = await env.tasks.list('inventory')
    expect(tasks.map((t) => t.id)).not.toContain(task.id)
    expect(tasks.filter((t) => t.state === 'RUNNING')).toHaveLength(4)
    expect(aws.mutatingCalls()).toEqual([
      expect.objectContaining({ operation: 'StopTask', input: { cluster: 'game-prod', task: task.id, reason: 'gameday run-1' } }),
    ])
  })

  it("ECS: a stop's timing from ECS's own records — stopping, stopped, exit code, the replacement running since — not from when a poll looked", async () => {
    await env.discover()
    aws.account.stopExitCode = 137 // the task did not drain in time: SIGKILL after its stopTimeout
    const ctx = faultContext(env as never, { seed: 2 })
    const spec = { type: serviceStopTask.type, target: { service: 'inventory', count: 1 }, params: serviceStopTask.params.parse({ recoveryTimeout: '20s' }) }
    const targets = await serviceStopTask.resolve(ctx, spec)
    await serviceStopTask.inject(ctx, spec, targets)
    const stopped = (await env.tasks.history('inventory')).find((t) => t.id === targets[0].id)!
    expect(stopped).toMatchObject({
      state: 'STOPPED',
      exitCode: 137,
      exitSignal: 'SIGKILL',
      stopReport: { stoppedReason: 'gameday run-123', stopCode: 'UserInitiated' },
    })
    expect(Date.parse(stopped.stoppedAt!)).toBeGreaterThan(Date.parse(stopped.drainingAt!))
    const [timing] = ctx.evidenceLog.map((e) => e.data as Record<string, unknown>)
    expect(timing).toMatchObject({
      task: targets[0].id,
      action: 'stop',
      exitCode: 137,
      exitSignal: 'SIGKILL',
      killedAfterGrace: true,
      replacement: expect.any(String),
    })
    expect(timing.replacementReadyMs as number).toBeGreaterThanOrEqual(60) // 3 steps of 20 ms on ECS's clock
    expect(timing.summary).toMatch(/SIGTERM, killed after the grace; stop took/)
  })

  it('FIS: a partition is a tagged template, a started experiment, waited until running; heal stops it and deletes the template, once', async () => {
    await env.discover()
    const state = await env.network.partition({ cluster: 'core', groups: [['n3'], ['n1', 'n2']], azs: ['az-c'] }, ctx())
    expect(aws.account.leftovers().activeExperiments).toEqual([`${(state as { experimentId: string }).experimentId} running`])
    await env.network.heal(state, ctx())
    expect(aws.account.leftovers()).toEqual({ activeExperiments: [], gamedayTemplates: [] })
    aws.clearCalls()
    await env.network.heal(state, ctx())
    expect(aws.mutatingCalls()).toEqual([])
  })

  it('ElastiCache through the capability: TestFailover, then waits until available with a new primary', async () => {
    await env.discover()
    const elasticache = env.capability(AWS)!.elasticache
    await elasticache.testFailover('cache', '0001')
    const info = await elasticache.waitAvailable('cache', 5000)
    expect(info.members.find((m) => m.role === 'primary')!.id).toBe('game-cache-002')
  })

  it('CloudWatch: the alarms in ALARM', async () => {
    aws.account.firingAlarms = ['game-prod-5xx']
    expect(await env.guard.alarmsFiring(['game-prod-5xx', 'other'])).toEqual(['game-prod-5xx'])
  })

  it('refuses credentials of another account, with what to do', async () => {
    aws.account.account = '999999999999'
    await expect(env.discover()).rejects.toBeInstanceOf(AllowListError)
    await expect(env.discover()).rejects.toThrow(
      /belong to account 999999999999, which is not in allow.accounts \[123456789012\]: use credentials for 123456789012/,
    )
    expect(() => env.topology()).toThrow(AllowListError) // the cause, not "not discovered yet"
    expect(aws.calls.every((c) => c.operation === 'GetCallerIdentity')).toBe(true)
  })

  it('says plainly when AWS refuses the credentials', async () => {
    const refused = await fakeEnvironment(writeFakeEnvFile(dir, { endpoint: aws.endpoint }), aws.endpoint)
    const sts = refused.clients.sts
    sts.middlewareStack.add(() => async () => {
      throw Object.assign(new Error('The security token included in the request is expired'), { name: 'ExpiredToken' })
    })
    const err = await refused.discover().catch((e: Error) => e)
    expect(err).toBeInstanceOf(DiscoveryError)
    expect((err as Error).message).toMatch(
      /AWS refused the credentials for account 123456789012 in eu-west-1 \(ExpiredToken: .*\): they are expired.*Log in again/,
    )
    await refused.close()
  })
})

describe('gameday with no AWS credentials at all', () => {
  it('says what to do instead of the SDK\'s "Could not load credentials from any providers"', async () => {
    const file = writeFakeEnvFile(dir, { endpoint: aws.endpoint })
    const noCredentials = isolatedAwsEnv()
    delete noCredentials.AWS_ACCESS_KEY_ID
    delete noCredentials.AWS_SECRET_ACCESS_KEY
    const { code, output } = await gamedayDone(['env', 'up', '--env', file], { cwd: dir, env: noCredentials })
    expect(code).toBe(2)
    expect(output).toMatch(
      /^gameday env: no usable AWS credentials for account 123456789012 in eu-west-1 \(Could not load credentials from any providers\)\. Log in/m,
    )
    expect(output).toMatch(/aws sso login --profile <profile>.*AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/)
    expect(output).not.toMatch(/\n\s+at /) // no stack trace
    expect(aws.calls).toEqual([]) // nothing was sent, not even unsigned
  }, 60_000)
})
