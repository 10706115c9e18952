/**
 * Tolerances: one condition on one probe metric, as people write SLOs.
 *
 *   successRate >= 99.9%     rates are fractions in metrics; "%" divides by 100
 *   p99 < 50ms               durations are milliseconds in metrics; ms, s, m convert
 *   lost == 0
 *   verdict == linearizable  strings compare for (in)equality only
 */
import { parseDuration } from '../util/duration.ts'
import type { MetricSpec, MetricSpecs, MetricUnit, MetricValue, Metrics } from '../api/probe.ts'

/** one metric, one comparison, one value (which cannot start with another comparison sign: `>>= 5`) */
export const TOLERANCE_PATTERN = /^\s*([A-Za-z_][\w.-]*)\s*(>=|<=|==|!=|>|<)\s*([^\s<>=!].*?)\s*$/

export type Operator = '>=' | '<=' | '==' | '!=' | '>' | '<'

/** how the value was written: it must suit the metric's unit */
export type ValueKind = 'percent' | 'duration' | 'number' | 'boolean' | 'word'

export interface Tolerance {
  text: string
  metric: string
  op: Operator
  value: number | string | boolean
  kind: ValueKind
}

export interface ToleranceResult {
  tolerance: string
  metric: string
  ok: boolean
  actual: MetricValue | undefined
  expected: number | string | boolean
  reason?: string
  /** the metric's declared unit, for reports */
  unit?: MetricUnit
}

export class ToleranceError extends Error {
  override name = 'ToleranceError'
}

export function parseTolerance(text: string): Tolerance {
  const match = TOLERANCE_PATTERN.exec(text)
  if (!match) {
    const doubled = /^\s*[A-Za-z_][\w.-]*\s*[<>=!]{3,}|^\s*[A-Za-z_][\w.-]*\s*[<>=!]+\s+[<>=!]/.test(text)
    throw new ToleranceError(
      doubled
        ? `invalid tolerance "${text}": one comparison (>=, <=, ==, !=, >, <) between the metric and the value`
        : `invalid tolerance "${text}": expected "<metric> <op> <value>", e.g. "p99 < 50ms"`,
    )
  }
  const [, metric, op, raw] = match
  return { text: text.trim(), metric, op: op as Operator, ...parseValue(raw, text) }
}

function parseValue(raw: string, text: string): { value: number | string | boolean; kind: ValueKind } {
  if (raw === 'true' || raw === 'false') return { value: raw === 'true', kind: 'boolean' }
  const percent = /^(-?\d+(?:\.\d+)?)\s*%$/.exec(raw)
  // toPrecision: 99.9 / 100 is 0.9990000000000001, which 999 of 1000 would not meet
  if (percent) return { value: Number((Number(percent[1]) / 100).toPrecision(12)), kind: 'percent' }
  if (/^-?\d+(?:\.\d+)?$/.test(raw)) return { value: Number(raw), kind: 'number' }
  if (/^\d+(?:\.\d+)?\s*(ms|s|m|h)$/.test(raw)) {
    try {
      return { value: parseDuration(raw), kind: 'duration' }
    } catch (err) {
      throw new ToleranceError(`invalid value "${raw}" in tolerance "${text}": ${(err as Error).message}`)
    }
  }
  const quoted = /^"(.*)"$|^'(.*)'$/.exec(raw)
  if (quoted) return { value: quoted[1] ?? quoted[2], kind: 'word' }
  if (/^[\w.-]+$/.test(raw)) return { value: raw, kind: 'word' }
  throw new ToleranceError(`invalid value "${raw}" in tolerance "${text}": a number, 99.9%, 50ms, true/false or one word`)
}

/** The metric a probe declares under this name: exact, or a `name.*` family. */
export function findMetric(metrics: MetricSpecs, name: string): MetricSpec | undefined {
  if (Object.hasOwn(metrics, name)) return metrics[name]
  for (const [key, spec] of Object.entries(metrics)) {
    if (key.endsWith('.*') && name.startsWith(key.slice(0, -1)) && name.length > key.length - 1) return spec
  }
  return undefined
}

const WRITE: Record<MetricSpec['unit'], string> = {
  count: 'a whole number, e.g. lost == 0',
  ms: 'a duration, e.g. p99 < 50ms or < 2s',
  ratio: 'a percentage, e.g. >= 99.9% (or a fraction 0..1)',
  'per-second': 'a number per second, e.g. > 90',
  number: 'a number',
  boolean: 'true or false, with == or !=',
  text: 'a word, with == or !=',
}

/**
 * Why a tolerance can never be judged against the probe's declared metrics — a syntax error,
 * an unknown metric, a value of the wrong unit (`p99 < 50%`, `successRate >= 99.9ms`), an
 * ordering on a word — or undefined when it can.
 */
export function toleranceProblem(text: string, metrics: MetricSpecs, probeType: string): string | undefined {
  let t: Tolerance
  try {
    t = parseTolerance(text)
  } catch (err) {
    return (err as Error).message
  }
  const spec = findMetric(metrics, t.metric)
  if (!spec) {
    const known = Object.keys(metrics).sort()
    return `probe ${probeType} reports no metric "${t.metric}" (it reports: ${known.join(', ') || 'none'})`
  }
  const unit = spec.unit
  const wrong = (why: string) => `"${t.text}": ${t.metric} is ${unitWords(unit)}, ${why}; write ${WRITE[unit]}`
  const equality = t.op === '==' || t.op === '!='
  switch (unit) {
    case 'boolean':
      if (t.kind !== 'boolean') return wrong(`not ${describeKind(t)}`)
      if (!equality) return wrong(`so ${t.op} cannot compare it`)
      return undefined
    case 'text':
      if (!equality) return wrong(`so ${t.op} cannot compare it`)
      if (t.kind === 'boolean' || t.kind === 'percent' || t.kind === 'duration') return wrong(`not ${describeKind(t)}`)
      return undefined
    case 'ms':
      if (t.kind === 'duration' || t.kind === 'number') return undefined
      return wrong(`not ${describeKind(t)}`)
    case 'ratio':
      if (t.kind === 'percent') return undefined
      if (t.kind === 'number') return (t.value as number) > 1 ? wrong(`a fraction 0..1, so ${t.value} is never met`) : undefined
      return wrong(`not ${describeKind(t)}`)
    default:
      if (t.kind === 'number') return undefined
      return wrong(`not ${describeKind(t)}`)
  }
}

function unitWords(unit: MetricSpec['unit']): string {
  return {
    count: 'a count',
    ms: 'a duration in ms',
    ratio: 'a ratio',
    'per-second': 'a rate per second',
    number: 'a number',
    boolean: 'true/false',
    text: 'a word',
  }[unit]
}

function describeKind(t: Tolerance): string {
  return { percent: 'a percentage', duration: 'a duration', number: 'a number', boolean: 'true/false', word: `a word ("${String(t.value)}")` }[t.kind]
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
export function formatMetric(name: string, value: MetricValue | undefined, unit?: MetricUnit): string {
  if (value === undefined) return '—'
  if (typeof value !== 'number') return String(value)
  switch (unit ?? guessUnit(name)) {
    case 'per-second':
      return `${value.toFixed(1)}/s`
    case 'ratio':
      return `${(value * 100).toFixed(value >= 0.999 && value < 1 ? 3 : 2)}%`
    case 'ms':
      return `${value.toFixed(value < 10 ? 2 : 1)}ms`
    default:
      return Number.isInteger(value) ? String(value) : value.toFixed(3)
  }
}

/** For journals written before probes declared their units: the unit a metric's name suggests. */
function guessUnit(name: string): MetricUnit | undefined {
  if (/^(targetRate|achievedRate|rps)$/.test(name)) return 'per-second' // throughput, not a fraction
  if (/rate|ratio/i.test(name)) return 'ratio'
  if (/^p\d+$|P\d+$|latency|ms$|Ms$|^(mean|max|min)$/i.test(name)) return 'ms'
  return undefined
}
