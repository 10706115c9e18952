/**
 * The probe contract: built-in probes (probes/) and users' own are written against it alike.
 *
 * A probe generates load and/or observes, and returns metrics; the engine judges those
 * metrics against the experiment's tolerances (`successRate >= 99.9%`, `p99 < 50ms`,
 * `lost == 0`). The probe does not judge itself, so the same probe serves a strict steady
 * state and a looser "during the fault" tolerance.
 *
 * Two ways to run, and a probe offers either or both:
 * - `run()` — a one-shot check (steady state before/after, a `probe:` step);
 * - `start()` … `stop()` — continuous through the method (background load, `during:` tolerances),
 *   with `snapshot()` giving live figures for progress output and guardrails.
 */
import type { z } from 'zod'
import type { Environment, Logger } from './environment.ts'
import type { Json } from './fault.ts'
import type { Rng } from '../util/rng.ts'

export type MetricValue = number | string | boolean
export type Metrics = Record<string, MetricValue>

/**
 * What one metric measures: `validate` checks every tolerance against it before anything runs
 * (`p99 < 50%` or `successRate >= 99.9ms` can never be judged, so they are input errors).
 *   count        a whole number of things (lost, requests)
 *   ms           a duration in milliseconds; tolerances may write 50ms, 2s, 1m
 *   ratio        a fraction 0..1; tolerances may write 99.9%
 *   per-second   a throughput
 *   number       any other number
 *   boolean      true / false
 *   text         a word compared with == / != (verdict == linearizable)
 */
export type MetricUnit = 'count' | 'ms' | 'ratio' | 'per-second' | 'number' | 'boolean' | 'text'

export interface MetricSpec {
  unit: MetricUnit
  description: string
}

/** The metrics a probe reports, by name; a name ending in `.*` covers a family (errors.timeout, errors.http-503). */
export type MetricSpecs = Record<string, MetricSpec>

/** A probe verdict: `inconclusive` is a pass that could not have failed (no evidence), never a pass. */
export type VerdictKind = 'pass' | 'fail' | 'inconclusive'

/** One point of a per-second series kept for reports (t = seconds since the probe started). */
export interface SeriesPoint {
  t: number
  [metric: string]: number
}

export interface ProbeResult {
  metrics: Metrics
  /** per-second figures for charts */
  series?: SeriesPoint[]
  /** anything a human needs to understand a failure: first lost values, a counterexample */
  details?: Json
  /**
   * A probe that checks a property no tolerance can express may veto the verdict
   * (e.g. an `unknown` linearizability answer is never a pass). Reasons are reported.
   */
  violations?: string[]
  /**
   * Why the tolerances could not have failed: the evidence the verdict rests on is missing
   * (no request was in flight at any stop, no two CAS met on one version, the runner itself
   * was too loaded to measure latency). Tolerances met with a reason here give `inconclusive`,
   * never `pass`; a failed tolerance or a violation still gives `fail`.
   */
  inconclusive?: string[]
  /**
   * Figures the probe cannot vouch for, with why (the runner itself was overloaded: its
   * latencies are its own). A tolerance on one of them that fails gives `inconclusive` with the
   * reason, not `fail` — never a deviation the machine caused; one that holds still holds (the
   * true figure is no worse than the measured one).
   */
  untrusted?: { metrics: string[]; reason: string }[]
}

export type Phase = 'before' | 'during' | 'after' | 'method'

/** A fault event as seen by probes that correlate with the fault timeline. */
export interface FaultEvent {
  at: number
  kind: 'injected' | 'reverted'
  faultId: string
  type: string
}

export interface ProbeContext {
  env: Environment
  /** the probe's name in the experiment */
  name: string
  phase: Phase
  rng: Rng
  log: Logger
  signal: AbortSignal
  /** a file path under the run directory for large artifacts (histories) */
  artifactPath(fileName: string): string
  /** record a notable observation in the journal */
  evidence(kind: string, data: Json): void
  /** the run's clock: ms since the run started, the same clock as fault events and the journal's `t` */
  now(): number
  /** subscribe to the fault timeline (returns an unsubscribe function) */
  onFault(listener: (event: FaultEvent) => void): () => void
}

export interface Probe {
  run?(): Promise<ProbeResult>
  start?(): Promise<void>
  snapshot?(): Metrics
  stop?(): Promise<ProbeResult>
  /** release resources; called once whatever happened */
  close?(): Promise<void>
}

export interface ProbeType<P = Record<string, unknown>> {
  type: string
  description: string
  params: z.ZodType<P>
  /** every metric the probe reports, with its unit: validate checks tolerances against them */
  metrics: MetricSpecs
  /** tolerances applied when the experiment gives none */
  defaultTolerance?: string[]
  create(ctx: ProbeContext, params: P): Probe | Promise<Probe>
}

export function defineProbe<P>(probe: ProbeType<P>): ProbeType<P> {
  return probe
}
