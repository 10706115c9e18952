/**
 * Custom matchers for chaos tests, registered with `expect.extend` when `gameday/vitest` is
 * imported:
 *
 *   expect(result).toHoldSteadyState()        the run passed, or every before/after verdict passed
 *   expect(result.probe('x')).toMeet({ lost: 0, successRate: '>= 99.9%', p99: '< 50ms' })
 *
 * `toMeet` takes, per metric, a value (the metric must equal it) or the rest of a tolerance as
 * experiments write them ("< 2s", ">= 99%", "!= none"): the same parser, the same units.
 */
import type { MetricValue } from '../api/probe.ts'
import { evaluateTolerance, formatMetric, parseTolerance, type ToleranceResult } from '../experiment/tolerance.ts'
import type { ProbeVerdict, RunResult } from '../reports/result.ts'

export type Expectations = Record<string, MetricValue>

interface MatcherOutcome {
  pass: boolean
  message: () => string
}

const OPERATOR = /^\s*(>=|<=|==|!=|>|<)/

/** `{ p99: '< 2s' }` → "p99 < 2s"; `{ lost: 0 }` → "lost == 0"; `{ verdict: 'linearizable' }` → "verdict == linearizable". */
export function toleranceFor(metric: string, expected: MetricValue): string {
  if (typeof expected === 'string' && OPERATOR.test(expected)) return `${metric} ${expected.trim()}`
  if (typeof expected === 'string') return `${metric} == ${/^[\w.-]+$/.test(expected) ? expected : JSON.stringify(expected)}`
  return `${metric} == ${expected}`
}

function isVerdict(v: unknown): v is ProbeVerdict {
  return typeof v === 'object' && v !== null && 'metrics' in v && 'verdict' in v && 'phase' in v
}

function isRunResult(v: unknown): v is RunResult {
  return typeof v === 'object' && v !== null && 'probes' in v && 'status' in v && 'runId' in v
}

function line(v: ProbeVerdict): string {
  const figures = v.tolerances.map((t) => `${t.tolerance} → ${formatMetric(t.metric, t.actual as MetricValue)}${t.ok ? '' : ' ✗'}`)
  return `  ${v.verdict === 'pass' ? '✓' : '✗'} ${v.name} (${v.phase}): ${[...figures, ...v.violations].join('; ') || 'no tolerance'}`
}

export function holdsSteadyState(received: unknown): MatcherOutcome {
  if (!isRunResult(received)) return { pass: false, message: () => `expected a gameday run result (from runExperiment), got ${typeof received}` }
  const steady = received.probes.filter((p) => p.phase === 'before' || p.phase === 'after')
  const failing = steady.filter((p) => p.verdict !== 'pass')
  const phases = new Set(steady.map((p) => p.phase))
  const held = received.status === 'passed' || (phases.has('before') && phases.has('after') && failing.length === 0)
  const summary = () =>
    [
      `run ${received.runId} (${received.experiment} on ${received.environment}): ${received.status}${received.reason ? ` — ${received.reason}` : ''}`,
      ...received.probes.map(line),
    ].join('\n')
  return {
    pass: held,
    message: () =>
      held
        ? `expected the steady state not to hold, but it did\n${summary()}`
        : `expected the steady state to hold before and after the method${phases.has('after') ? '' : ' (it was never checked after)'}\n${summary()}`,
  }
}

export function meets(received: unknown, expected: Expectations): MatcherOutcome {
  if (!isVerdict(received)) {
    const hint = isRunResult(received) ? ' — pick one with result.probe(name)' : ''
    return { pass: false, message: () => `expected a probe verdict${hint}, got ${typeof received}` }
  }
  if (!expected || typeof expected !== 'object' || !Object.keys(expected).length) {
    return { pass: false, message: () => 'toMeet needs at least one metric, e.g. toMeet({ lost: 0 })' }
  }
  let results: ToleranceResult[]
  try {
    results = Object.entries(expected).map(([metric, value]) => evaluateTolerance(parseTolerance(toleranceFor(metric, value)), received.metrics))
  } catch (err) {
    return { pass: false, message: () => (err as Error).message }
  }
  const pass = results.every((r) => r.ok)
  const report = () =>
    results
      .map(
        (r) =>
          `  ${r.ok ? '✓' : '✗'} ${r.tolerance} → ${r.actual === undefined ? 'not reported' : formatMetric(r.metric, r.actual)}${r.reason ? ` (${r.reason})` : ''}`,
      )
      .join('\n')
  return {
    pass,
    message: () => `expected probe ${received.name} (${received.phase}) ${pass ? 'not ' : ''}to meet:\n${report()}`,
  }
}

/** The matcher object for `expect.extend`. */
export const gamedayMatchers = {
  toHoldSteadyState(received: unknown) {
    return holdsSteadyState(received)
  },
  toMeet(received: unknown, expected: Expectations) {
    return meets(received, expected)
  },
}

/** Types for the matchers: `expect(result).toHoldSteadyState()`, `expect(verdict).toMeet({...})`. */
export interface GamedayMatchers<R = unknown> {
  /** the run passed, or every steady-state verdict before and after the method passed */
  toHoldSteadyState(): R
  /** each metric equals the value given, or meets the tolerance given ("< 2s", ">= 99.9%") */
  toMeet(expected: Expectations): R
}
