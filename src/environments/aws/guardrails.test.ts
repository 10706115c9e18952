/** The AWS guardrails: blast radius counted by target kind and wave, against live counts; CloudWatch alarms. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { AwsEnvironment } from './environment.ts'
import { ACCOUNT, captureLog, FakeAws, REGION, testConfig } from '../../../test/aws/support/mocked-account.ts'

let aws: FakeAws
beforeEach(() => {
  aws = new FakeAws()
})
afterEach(() => aws.restore())

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
