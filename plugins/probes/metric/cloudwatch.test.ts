/**
 * The cloudwatch probe through the CloudWatch part of the AWS capability, built on a real SDK
 * client whose calls aws-sdk-client-mock intercepts (AWS is the one thing mocked): the exact
 * GetMetricData calls, pages joined, metric math, an SLO that holds and one that FAILS, no data,
 * a refused query, and a clear refusal on an environment without AWS.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { mockClient } from 'aws-sdk-client-mock'
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch'
import { cloudwatch } from './cloudwatch.ts'
import { cloudWatchMetrics } from '../../../src/environments/aws/cloudwatch.ts'
import { evaluateTolerance, parseTolerance } from '../../../src/experiment/tolerance.ts'
import { capability, type Environment, type ProbeResult } from '../../../src/api/index.ts'
import { probeContext, singleNodeEnv, type MonitoredNats } from '../../../test/correctness/support.ts'

const client = new CloudWatchClient({ region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
const cw = mockClient(client)
afterEach(() => cw.reset())

/** An environment whose AWS capability carries the CloudWatch part (as the AWS environment's will). */
function awsEnv(): Environment {
  const base = singleNodeEnv({ url: 'nats://127.0.0.1:1', monitorUrl: 'http://127.0.0.1:1' } as MonitoredNats)
  const aws = { cloudwatch: cloudWatchMetrics(client) }
  return {
    ...base,
    kind: 'aws',
    capability: (<T>(key: { name: string }) => (key.name === capability('aws').name ? (aws as T) : undefined)) as Environment['capability'],
  }
}

async function oneShot(params: Record<string, unknown>, env = awsEnv()): Promise<ProbeResult> {
  const ctx = probeContext(env, 'alb-5xx')
  try {
    return await (
      await cloudwatch.create(ctx, cloudwatch.params.parse(params))
    ).run!()
  } finally {
    ctx.cleanup()
  }
}

const holds = (r: ProbeResult, t: string) => evaluateTolerance(parseTolerance(t), r.metrics).ok
const minute = (i: number) => new Date(Date.UTC(2026, 11, 2, 10, i))
const alb5xx = { namespace: 'AWS/ApplicationELB', name: 'HTTPCode_Target_5XX_Count', dimensions: { LoadBalancer: 'app/game/abc' }, stat: 'Sum' }

describe('cloudwatch probe (GetMetricData, mocked AWS)', () => {
  it('asks for exactly the metric, over the last window, every page joined; the SLO holds', async () => {
    cw.on(GetMetricDataCommand)
      .resolvesOnce({
        MetricDataResults: [{ Id: 'm', Label: 'HTTPCode_Target_5XX_Count', Timestamps: [minute(0), minute(1)], Values: [0, 3], StatusCode: 'PartialData' }],
        NextToken: 't2',
      })
      .resolvesOnce({ MetricDataResults: [{ Id: 'm', Timestamps: [minute(2)], Values: [1], StatusCode: 'Complete' }] })
    const before = Date.now()
    const r = await oneShot({ metric: alb5xx, period: '1m', window: '5m' })
    const calls = cw.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input)
    expect(calls).toHaveLength(2)
    expect(calls[0]).toEqual({
      MetricDataQueries: [
        {
          Id: 'm',
          MetricStat: {
            Metric: { Namespace: 'AWS/ApplicationELB', MetricName: 'HTTPCode_Target_5XX_Count', Dimensions: [{ Name: 'LoadBalancer', Value: 'app/game/abc' }] },
            Period: 60,
            Stat: 'Sum',
          },
          ReturnData: true,
        },
      ],
      StartTime: expect.any(Date),
      EndTime: expect.any(Date),
      ScanBy: 'TimestampAscending',
    })
    expect(calls[1].NextToken).toBe('t2')
    expect(calls[0].EndTime!.getTime() - calls[0].StartTime!.getTime()).toBe(300_000)
    expect(calls[0].EndTime!.getTime()).toBeGreaterThanOrEqual(before)
    expect(r.metrics).toEqual({ value: 1, min: 0, max: 3, mean: 4 / 3, samples: 3, series: 1 })
    expect(holds(r, 'max < 10')).toBe(true)
  })

  it('FAILS the SLO when the metric breaks it', async () => {
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'm', Timestamps: [minute(0), minute(1)], Values: [2, 40], StatusCode: 'Complete' }] })
    const r = await oneShot({ metric: alb5xx })
    expect(holds(r, 'max < 10')).toBe(false)
  })

  it('metric math: the inputs are asked for without their data, the expression with it', async () => {
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'expression', Timestamps: [minute(0)], Values: [0.2], StatusCode: 'Complete' }] })
    const r = await oneShot({
      metrics: { errors: alb5xx, requests: { ...alb5xx, name: 'RequestCount' } },
      expression: '100 * errors / requests',
      period: '5m',
    })
    const queries = cw.commandCalls(GetMetricDataCommand)[0].args[0].input.MetricDataQueries!
    expect(queries.map((q) => [q.Id, q.ReturnData, q.MetricStat?.Metric?.MetricName ?? q.Expression, q.MetricStat?.Period ?? q.Period])).toEqual([
      ['errors', false, 'HTTPCode_Target_5XX_Count', 300],
      ['requests', false, 'RequestCount', 300],
      ['expression', true, '100 * errors / requests', 300],
    ])
    expect(r.metrics.value).toBe(0.2)
  })

  it('no datapoints: inconclusive (or zero, as asked); a refused query: an error that says why', async () => {
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'm', Timestamps: [], Values: [], StatusCode: 'Complete' }] })
    expect((await oneShot({ metric: alb5xx })).inconclusive).toEqual([
      'CloudWatch AWS/ApplicationELB HTTPCode_Target_5XX_Count (Sum) returned no data: nothing to judge',
    ])
    expect((await oneShot({ metric: alb5xx, noData: 'zero' })).metrics).toMatchObject({ value: 0, max: 0 })
    cw.reset()
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [{ Id: 'm', StatusCode: 'Forbidden', Messages: [{ Code: 'AccessDenied', Value: 'no cloudwatch:GetMetricData' }] }],
    })
    await expect(oneShot({ metric: alb5xx })).rejects.toThrow('HTTPCode_Target_5XX_Count (Sum): m Forbidden AccessDenied: no cloudwatch:GetMetricData')
  })

  it('refuses bad parameters before anything runs, and an environment without AWS', async () => {
    expect(cloudwatch.params.safeParse({ metric: alb5xx, period: '45s' }).error?.issues[0].message).toBe(
      'a CloudWatch period is 1s, 5s, 10s, 30s or a multiple of 1m',
    )
    expect(cloudwatch.params.safeParse({ expression: 'a / b' }).error?.issues[0].message).toBe('`expression` needs `metrics` (its inputs, by id)')
    expect(cloudwatch.params.safeParse({}).error?.issues[0].message).toBe('give either `metric`, or `expression` with `metrics`')
    const local = singleNodeEnv({ url: 'nats://127.0.0.1:1', monitorUrl: 'http://127.0.0.1:1' } as MonitoredNats)
    await expect(oneShot({ metric: alb5xx }, local)).rejects.toThrow(
      "cloudwatch needs the AWS environment's CloudWatch (capability aws.cloudwatch); the local environment has none",
    )
  })
})
