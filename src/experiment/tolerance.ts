/**
 * Tolerances: one condition on one probe metric, as people write SLOs.
 *
 *   successRate >= 99.9%     rates are fractions in metrics; "%" divides by 100
 *   p99 < 50ms               durations are milliseconds in metrics; ms, s, m convert
 *   lost == 0
 *   verdict == linearizable  strings compare for (in)equality only
 */
import { parseDuration } from '../util/duration.ts'
import type { MetricValue, Metrics } from '../api/probe.ts'

export const TOLERANCE_PATTERN = /^\s*([A-Za-z_][\w.]*)\s*(>=|<=|==|!=|>|<)\s*(\S.*?)\s*$/

export type Operator = '>=' | '<=' | '==' | '!=' | '>' | '<'

export interface Tolerance {
  text: string
  metric: string
  op: Operator
  value: number | string | boolean
}

export interface ToleranceResult {
  tolerance: string
  metric: string
  ok: boolean
  actual: MetricValue | undefined
  expected: number | string | boolean
  reason?: string
}

export function parseTolerance(text: string): Tolerance {
  const match = TOLERANCE_PATTERN.exec(text)
  if (!match) throw new Error(`invalid tolerance "${text}": expected "<metric> <op> <value>", e.g. "p99 < 50ms"`)
  const [, metric, op, raw] = match
  return { text: text.trim(), metric, op: op as Operator, value: parseValue(raw, text) }
}

function parseValue(raw: string, text: string): number | string | boolean {
  if (raw === 'true' || raw === 'false') return raw === 'true'
  const percent = /^(-?\d+(?:\.\d+)?)\s*%$/.exec(raw)
  // toPrecision: 99.9 / 100 is 0.9990000000000001, which 999 of 1000 would not meet
  if (percent) return Number((Number(percent[1]) / 100).toPrecision(12))
  if (/^-?\d+(?:\.\d+)?$/.test(raw)) return Number(raw)
  if (/^\d+(?:\.\d+)?\s*(ms|s|m|h)$/.test(raw)) return parseDuration(raw)
  const quoted = /^"(.*)"$|^'(.*)'$/.exec(raw)
  if (quoted) return quoted[1] ?? quoted[2]
  if (/^[\w.-]+$/.test(raw)) return raw
  throw new Error(`invalid value "${raw}" in tolerance "${text}"`)
}

export function evaluateTolerance(tolerance: Tolerance, metrics: Metrics): ToleranceResult {
  const actual = metrics[tolerance.metric]
  const base = { tolerance: tolerance.text, metric: tolerance.metric, actual, expected: tolerance.value }
  if (actual === undefined) {
    return { ...base, ok: false, reason: `metric "${tolerance.metric}" was not reported (has: ${Object.keys(metrics).join(', ') || 'none'})` }
  }
  if (typeof tolerance.value !== 'number' || typeof actual !== 'number') {
    if (tolerance.op !== '==' && tolerance.op !== '!=') {
      return { ...base, ok: false, reason: `"${tolerance.op}" needs numbers; got ${JSON.stringify(actual)}` }
    }
    const equal = String(actual) === String(tolerance.value)
    return { ...base, ok: tolerance.op === '==' ? equal : !equal }
  }
  if (Number.isNaN(actual)) return { ...base, ok: false, reason: `metric "${tolerance.metric}" has no value (no samples)` }
  const ok = compare(actual, tolerance.op, tolerance.value)
  return { ...base, ok }
}

function compare(a: number, op: Operator, b: number): boolean {
  switch (op) {
    case '>=':
      return a >= b
    case '<=':
      return a <= b
    case '>':
      return a > b
    case '<':
      return a < b
    case '==':
      return a === b
    case '!=':
      return a !== b
  }
}

export function toleranceList(value: string | string[] | undefined): string[] {
  if (value === undefined) return []
  return Array.isArray(value) ? value : [value]
}

/** Renders a metric for humans: rates as %, durations as ms. */
export function formatMetric(name: string, value: MetricValue | undefined): string {
  if (value === undefined) return '—'
  if (typeof value !== 'number') return String(value)
  if (/^(targetRate|achievedRate|rps)$/.test(name)) return `${value.toFixed(1)}/s` // throughput, not a fraction
  if (/rate|ratio/i.test(name)) return `${(value * 100).toFixed(value >= 0.999 && value < 1 ? 3 : 2)}%`
  if (/^p\d+|latency|ms$|Ms$|mean|max|min/i.test(name)) return `${value.toFixed(value < 10 ? 2 : 1)}ms`
  return Number.isInteger(value) ? String(value) : value.toFixed(3)
}
