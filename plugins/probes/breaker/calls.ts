/**
 * The breaker seen from the caller's side only: every call's start, latency, status and whether
 * its answer was marked degraded — nothing the service has to cooperate with. From those calls
 * and the fault timeline, this finds
 *   - when calls started failing fast (the first fast failure after the first injection from
 *     which, for one window, nearly every call fails fast),
 *   - how fast the failures were from then until normal answers came back,
 *   - when normal answers came back (the first normal answer after the last revert from which,
 *     for one window, nearly every answer is normal).
 * Pure: tested on recorded call histories.
 */
import type { FaultEvent, SeriesPoint } from '../../../src/api/index.ts'

export interface Call {
  /** the run clock when the call was sent (ms) */
  t: number
  latency: number
  /** HTTP status; 0 = no answer (timed out, refused, reset) */
  status: number
  /** the answer carried the degraded marker */
  degraded: boolean
}

export interface CallJudgement {
  /**
   * A marker is configured: only marked answers are the breaker's fail-fast answers (other
   * failures are errors). Without one, any failure (no answer, status ≥ 400) counts.
   */
  markerConfigured: boolean
  /** a failure quicker than this fails fast */
  fastMs: number
  /** the sliding window the shares are measured over */
  windowMs: number
  /** share of fast failures in the window that marks the start of failing fast */
  failFastShare: number
  /** share of normal answers in the window that marks the return of normal answers */
  normalShare: number
  /** fewest calls a window needs to count */
  minCalls: number
}

export interface CallAnalysis {
  calls: number
  normal: number
  failed: number
  /** run clock of the first call of the fail-fast period */
  failFastAt?: number
  /** ms from the first injection to failFastAt (NaN: calls never failed fast) */
  failFastWithinMs: number
  /** the end of the fail-fast period: normal answers back, or the end of the calls */
  failFastUntil?: number
  /** failures answered inside the fail-fast period */
  failedWhileFailingFast: number
  /** share of those that were fast */
  fastShare: number
  failFastP50: number
  failFastP90: number
  failFastP99: number
  failFastMax: number
  /** run clock of the first call of the return to normal, after the last revert */
  recoveredAt?: number
  /** ms from the last revert to recoveredAt (NaN: no revert, or normal answers never came back) */
  recoveredWithinMs: number
}

export function isFailure(c: Call, j: Pick<CallJudgement, 'markerConfigured'>): boolean {
  return j.markerConfigured ? c.degraded : c.degraded || c.status === 0 || c.status >= 400
}

/** An answer as it should be: 2xx/3xx and not marked degraded. */
export function isNormal(c: Call): boolean {
  return !c.degraded && c.status >= 200 && c.status < 400
}

export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}

/**
 * The first call at or after `from` that satisfies `starts`, and from which the share of calls
 * satisfying `holds` over one window is at least `share`.
 */
function firstSustained(sorted: Call[], from: number, starts: (c: Call) => boolean, holds: (c: Call) => boolean, share: number, j: CallJudgement) {
  for (let i = 0; i < sorted.length; i++) {
    const c = sorted[i]
    if (c.t < from || !starts(c)) continue
    let n = 0
    let ok = 0
    for (let k = i; k < sorted.length && sorted[k].t < c.t + j.windowMs; k++) {
      n++
      if (holds(sorted[k])) ok++
    }
    if (n >= j.minCalls && ok / n >= share) return c
  }
  return undefined
}

export function analyseCalls(calls: Call[], faults: FaultEvent[], j: CallJudgement): CallAnalysis {
  const sorted = [...calls].sort((a, b) => a.t - b.t)
  const firstInjected = faults.find((f) => f.kind === 'injected')?.at
  const lastReverted = [...faults].reverse().find((f) => f.kind === 'reverted')?.at
  const fails = (c: Call) => isFailure(c, j)
  const failsFast = (c: Call) => fails(c) && c.latency < j.fastMs
  const start = firstInjected === undefined ? undefined : firstSustained(sorted, firstInjected, failsFast, failsFast, j.failFastShare, j)
  // normal answers are back once the fault is gone and they hold for a window
  const recovered =
    lastReverted === undefined ? undefined : firstSustained(sorted, Math.max(lastReverted, start?.t ?? -Infinity), isNormal, isNormal, j.normalShare, j)
  const until = start ? (recovered?.t ?? (sorted.length ? sorted[sorted.length - 1].t + 1 : start.t)) : undefined
  const period = start ? sorted.filter((c) => c.t >= start.t && c.t < until! && fails(c)) : []
  const latencies = period.map((c) => c.latency)
  return {
    calls: sorted.length,
    normal: sorted.filter(isNormal).length,
    failed: sorted.filter(fails).length,
    ...(start ? { failFastAt: start.t, failFastUntil: until } : {}),
    failFastWithinMs: start && firstInjected !== undefined ? start.t - firstInjected : NaN,
    failedWhileFailingFast: period.length,
    fastShare: period.length ? period.filter(failsFast).length / period.length : NaN,
    failFastP50: percentile(latencies, 50),
    failFastP90: percentile(latencies, 90),
    failFastP99: percentile(latencies, 99),
    failFastMax: latencies.length ? Math.max(...latencies) : NaN,
    ...(recovered ? { recoveredAt: recovered.t } : {}),
    recoveredWithinMs: recovered && lastReverted !== undefined ? recovered.t - lastReverted : NaN,
  }
}

/** Latency and status classes per second of the run clock, from `origin` (the probe's start). */
export function callSeries(calls: Call[], origin: number, j: Pick<CallJudgement, 'markerConfigured' | 'fastMs'>): SeriesPoint[] {
  const seconds: Call[][] = []
  for (const c of calls) {
    const s = Math.max(0, Math.floor((c.t - origin) / 1000))
    while (seconds.length <= s) seconds.push([])
    seconds[s].push(c)
  }
  return seconds.map((cs, t) => {
    const latencies = cs.map((c) => c.latency)
    const count = (f: (c: Call) => boolean) => cs.filter(f).length
    return {
      t,
      requests: cs.length,
      successRate: cs.length ? count(isNormal) / cs.length : 1,
      normal: count(isNormal),
      degraded: count((c) => c.degraded),
      fastFail: count((c) => isFailure(c, j) && c.latency < j.fastMs),
      status2xx: count((c) => c.status >= 200 && c.status < 300),
      status4xx: count((c) => c.status >= 400 && c.status < 500),
      status5xx: count((c) => c.status >= 500),
      noAnswer: count((c) => c.status === 0),
      p50: latencies.length ? percentile(latencies, 50) : 0,
      p99: latencies.length ? percentile(latencies, 99) : 0,
    }
  })
}
