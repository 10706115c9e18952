/**
 * cloudwatch: a CloudWatch metric (or metric math over several) on AWS, judged with
 * tolerances — the same judgement as the prometheus probe, through GetMetricData.
 *
 *   - name: alb-5xx
 *     probe: cloudwatch
 *     with:
 *       metric: { namespace: AWS/ApplicationELB, name: HTTPCode_Target_5XX_Count, dimensions: { LoadBalancer: app/game/abc }, stat: Sum }
 *       period: 1m
 *       settle: 3m          # CloudWatch publishes a minute's datapoint a few minutes late
 *     tolerance: ["max < 10"]
 *
 *   metric math: metrics: { errors: {…}, requests: {…} }, expression: "100 * errors / requests"
 *
 * One-shot, the last `window`; through the method, from its start to its stop (after `settle`).
 * It needs the AWS environment's CloudWatch part (`AwsCloudWatch` below), asked for by the
 * capability key `aws`; on any other environment it says so before anything runs.
 */
import { z } from 'zod'
import {
  capability,
  defineProbe,
  Duration,
  GamedayError,
  sleepUnlessAborted,
  UnsupportedError,
  type AwsCloudWatch,
  type Json,
  type MetricQuery,
  type MetricValues,
  type Probe,
  type ProbeResult,
} from '../../../src/api/index.ts'
import { METRIC_PROBE_METRICS, NoData, Reduce, reduceSeries, summarise, type NamedSeries } from './series.ts'

// the AWS capability's CloudWatch part (src/api/aws.ts), named here for this probe's readers
export type { AwsCloudWatch, MetricQuery, MetricValues }

const AWS_CLOUDWATCH = capability<{ cloudwatch?: AwsCloudWatch }>('aws')

const QueryId = z.string().regex(/^[a-z][a-zA-Z0-9_]*$/, 'a query id: a lower-case letter, then letters, digits, _')
const Metric = z.strictObject({
  namespace: z.string().min(1),
  name: z.string().min(1),
  dimensions: z.record(z.string(), z.string()).default({}),
  stat: z.string().default('Average').describe('Average, Sum, Minimum, Maximum, SampleCount, p99, tm90, …'),
  unit: z.string().optional(),
})

const Params = z
  .strictObject({
    metric: Metric.optional().describe('one metric and statistic'),
    metrics: z.record(QueryId, Metric).optional().describe('the inputs of `expression`, by id'),
    expression: z.string().optional().describe('metric math over the ids of `metrics`'),
    period: Duration.prefault('1m').describe('CloudWatch period: 1s, 5s, 10s, 30s, or a multiple of 1m'),
    window: Duration.prefault('5m').describe('one-shot: judge the last window'),
    settle: Duration.prefault('0s').describe('wait before the final query: CloudWatch datapoints arrive late'),
    reduce: Reduce,
    noData: NoData,
  })
  .refine((p) => (p.metric !== undefined) !== (p.expression !== undefined), { message: 'give either `metric`, or `expression` with `metrics`' })
  .refine((p) => p.expression === undefined || (p.metrics !== undefined && Object.keys(p.metrics).length > 0), {
    message: '`expression` needs `metrics` (its inputs, by id)',
    path: ['metrics'],
  })
  .refine((p) => [1_000, 5_000, 10_000, 30_000].includes(p.period) || (p.period >= 60_000 && p.period % 60_000 === 0), {
    message: 'a CloudWatch period is 1s, 5s, 10s, 30s or a multiple of 1m',
    path: ['period'],
  })
type P = z.infer<typeof Params>

/** The queries for the parameters: one metric, or the expression (returned) over its inputs (not returned). */
export function queriesFor(p: P): MetricQuery[] {
  const periodSeconds = p.period / 1000
  const stat = (id: string, m: z.infer<typeof Metric>, returnData: boolean): MetricQuery => ({
    id,
    metric: { namespace: m.namespace, name: m.name, dimensions: m.dimensions, stat: m.stat, ...(m.unit ? { unit: m.unit } : {}) },
    periodSeconds,
    returnData,
  })
  if (p.metric) return [stat('m', p.metric, true)]
  return [
    ...Object.entries(p.metrics!).map(([id, m]) => stat(id, m, false)),
    { id: 'expression', label: p.expression, expression: p.expression!, periodSeconds, returnData: true },
  ]
}

export const cloudwatch = defineProbe<P>({
  type: 'cloudwatch',
  description: 'a CloudWatch metric or metric math (GetMetricData) over a window or the method, judged on its value, min, max and mean',
  params: Params,
  metrics: METRIC_PROBE_METRICS,
  async create(ctx, p): Promise<Probe> {
    const cw = ctx.env.capability(AWS_CLOUDWATCH)?.cloudwatch
    if (!cw)
      throw new UnsupportedError(`cloudwatch needs the AWS environment's CloudWatch (capability aws.cloudwatch); the ${ctx.env.kind} environment has none`)
    const queries = queriesFor(p)
    const what = `CloudWatch ${p.metric ? `${p.metric.namespace} ${p.metric.name} (${p.metric.stat})` : `expression ${JSON.stringify(p.expression)}`}`
    let startedAt = 0

    const judge = async (from: number, to: number): Promise<ProbeResult> => {
      const answer = await cw.getMetricData(queries, new Date(from), new Date(to), ctx.signal)
      const refused = answer.filter((r) => r.status === 'Forbidden' || r.status === 'InternalError')
      if (refused.length) throw new GamedayError(`${what}: ${refused.map((r) => `${r.id} ${r.status} ${(r.messages ?? []).join(' ')}`).join('; ')}`)
      const series: NamedSeries[] = answer.map((r) => ({
        name: r.label ?? r.id,
        samples: r.timestamps.map((t, i) => ({ at: t.getTime(), value: r.values[i] })).sort((a, b) => a.at - b.at),
      }))
      const judged = summarise(reduceSeries(series, p.reduce, what), series.length, p.noData, from, what)
      const partial = answer.filter((r) => r.status === 'PartialData').map((r) => r.id)
      const details: Json = {
        queries: queries.map((q) =>
          q.metric ? `${q.id}: ${q.metric.namespace} ${q.metric.name} ${JSON.stringify(q.metric.dimensions)} ${q.metric.stat}` : `${q.id}: ${q.expression}`,
        ),
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        periodMs: p.period,
        ...(partial.length ? { partialData: partial } : {}),
      }
      return { metrics: judged.metrics, series: judged.series, details, inconclusive: judged.inconclusive, violations: judged.violations }
    }

    return {
      async run() {
        await sleepUnlessAborted(p.settle, ctx.signal)
        const to = Date.now()
        return judge(to - p.window, to)
      },
      async start() {
        startedAt = Date.now()
      },
      async stop() {
        await sleepUnlessAborted(p.settle, ctx.signal)
        return judge(startedAt, Date.now())
      },
    }
  },
})
