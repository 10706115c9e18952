/** Figures for humans, in every report: what formatMetric gives, and what a report also meets. */
import type { MetricUnit } from '../api/probe.ts'
import { formatMetric } from '../experiment/tolerance.ts'
import { formatDuration } from '../util/duration.ts'

/**
 * A metric for humans, as formatMetric does, and also: no value (NaN is journalled as null),
 * latency percentiles with a prefix (openP99), and long durations in seconds.
 */
export function metricText(metric: string, v: unknown, unit?: MetricUnit): string {
  if (v === undefined || v === null || (typeof v === 'number' && Number.isNaN(v))) return 'no value'
  if (typeof v !== 'number') return formatMetric(metric, v as string | boolean)
  const ms = unit ? unit === 'ms' : /P\d+$|ms$|Ms$/.test(metric) || /^p\d+$/.test(metric) || formatMetric(metric, v).endsWith('ms')
  if (ms && (unit === 'ms' || !/rate|ratio/i.test(metric)))
    return Math.abs(v) >= 1000 ? formatDuration(v) : `${Number.isInteger(v) ? v : v.toFixed(Math.abs(v) < 10 ? 2 : 1)}ms`
  return formatMetric(metric, v, unit)
}

