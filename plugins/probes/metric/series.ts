/**
 * What the metric probes share: many series (Prometheus label sets, CloudWatch queries) reduced
 * to one, that one summarised into the metrics tolerances judge, and what "no data" means —
 * pure, tested on recorded answers.
 */
import { z } from 'zod'
import { GamedayError, type MetricSpecs, type Metrics, type SeriesPoint } from '../../../src/api/index.ts'

/** One sample: epoch milliseconds and its value. */
export interface Sample {
  at: number
  value: number
}

export interface NamedSeries {
  /** how the source names it: a label set, a query id */
  name: string
  samples: Sample[]
}

export const Reduce = z
  .enum(['max', 'min', 'sum', 'avg'])
  .optional()
  .describe('how several series become one, per timestamp; without it, a query answering more than one series is an error')

export const NoData = z
  .enum(['inconclusive', 'fail', 'zero'])
  .default('inconclusive')
  .describe('an answer with no data: inconclusive (nothing to judge), fail, or zero (absent means none, e.g. an error counter never incremented)')

export const METRIC_PROBE_METRICS: MetricSpecs = {
  value: { unit: 'number', description: 'the latest value (an instant query: the value)' },
  min: { unit: 'number', description: 'the smallest value over the window' },
  max: { unit: 'number', description: 'the largest value over the window' },
  mean: { unit: 'number', description: 'the mean of the values over the window' },
  samples: { unit: 'count', description: 'values judged (after reducing the series to one)' },
  series: { unit: 'count', description: 'series the query answered before reducing' },
}

/** Several series to one, per timestamp; one series as it is. */
export function reduceSeries(series: NamedSeries[], reduce: z.infer<typeof Reduce>, what: string): Sample[] {
  const withData = series.filter((s) => s.samples.length)
  if (withData.length <= 1) return withData[0]?.samples ?? []
  if (!reduce)
    throw new GamedayError(
      `${what} answered ${withData.length} series (${withData
        .slice(0, 3)
        .map((s) => s.name)
        .join('; ')}${withData.length > 3 ? '; …' : ''}): aggregate them in the query, or set reduce: max | min | sum | avg`,
    )
  const byTime = new Map<number, number[]>()
  for (const s of withData) for (const x of s.samples) byTime.set(x.at, [...(byTime.get(x.at) ?? []), x.value])
  const combine = {
    max: (v: number[]) => Math.max(...v),
    min: (v: number[]) => Math.min(...v),
    sum: (v: number[]) => v.reduce((a, b) => a + b, 0),
    avg: (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length,
  }[reduce]
  return [...byTime.entries()].sort((a, b) => a[0] - b[0]).map(([at, values]) => ({ at, value: combine(values) }))
}

export interface Judged {
  metrics: Metrics
  series: SeriesPoint[]
  inconclusive: string[]
  violations: string[]
}

/** The metrics of one series; `origin` (epoch ms) is where the report's seconds start. */
export function summarise(samples: Sample[], seriesCount: number, noData: z.infer<typeof NoData>, origin: number, what: string): Judged {
  const values = samples.map((s) => s.value).filter((v) => !Number.isNaN(v))
  if (!values.length) {
    const empty = `${what} returned no data`
    if (noData === 'zero')
      return { metrics: { value: 0, min: 0, max: 0, mean: 0, samples: 0, series: seriesCount }, series: [], inconclusive: [], violations: [] }
    const metrics = { value: NaN, min: NaN, max: NaN, mean: NaN, samples: 0, series: seriesCount }
    return noData === 'fail'
      ? { metrics, series: [], inconclusive: [], violations: [empty] }
      : { metrics, series: [], inconclusive: [`${empty}: nothing to judge`], violations: [] }
  }
  return {
    metrics: {
      value: samples[samples.length - 1].value,
      min: Math.min(...values),
      max: Math.max(...values),
      mean: values.reduce((a, b) => a + b, 0) / values.length,
      samples: values.length,
      series: seriesCount,
    },
    series: samples.map((s) => ({ t: Math.round((s.at - origin) / 100) / 10, value: s.value })),
    inconclusive: [],
    violations: [],
  }
}
