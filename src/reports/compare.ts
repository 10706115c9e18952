/**
 * Two runs of one experiment side by side — a game day against the last one, a fix against the
 * run that found the bug: each tolerance's value before and after, the verdicts, the time to
 * recover per fault, the score, and above all what changed: new deviations and fixed ones.
 * `gameday compare RUN_A RUN_B` prints it; `--html` writes the page (compare-page.ts).
 */
import type { MetricValue, Phase, VerdictKind } from '../api/probe.ts'
import { formatDuration } from '../util/duration.ts'
import type { RunResult } from './result.ts'
import { metricText } from './format.ts'
import { deviationBy, readout, type Readout } from './readout.ts'
import { describeRecovery, type FaultRecovery } from './recovery.ts'
import { confidenceLevel } from './score.ts'

export type Change = 'new deviation' | 'fixed' | 'still deviated' | 'held' | 'only in A' | 'only in B'

export interface Side {
  actual: MetricValue | undefined
  ok: boolean
  /** how far it missed, when it did */
  by?: string
}

export interface ToleranceChange {
  phase: Phase
  probe: string
  tolerance: string
  /** B's tolerance when the experiment changed it between the runs */
  toleranceB?: string
  metric: string
  expected?: number | string | boolean
  a?: Side
  b?: Side
  change: Change
  /** B − A in the metric's terms, when both are numbers */
  delta?: string
  /** the direction of the delta: worse, better or the same for this tolerance */
  trend?: 'worse' | 'better' | 'same'
}

export interface VerdictChange {
  phase: Phase
  probe: string
  a?: VerdictKind
  b?: VerdictKind
}

export interface RecoveryChange {
  key: string
  label: string
  a?: FaultRecovery
  b?: FaultRecovery
  /** B − A, when both recovered */
  deltaMs?: number
}

export interface Comparison {
  a: Readout
  b: Readout
  sameExperiment: boolean
  tolerances: ToleranceChange[]
  /** violations (not tolerances) new in B, or gone from it */
  violations: { phase: Phase; probe: string; text: string; change: 'new deviation' | 'fixed' }[]
  verdicts: VerdictChange[]
  recoveries: RecoveryChange[]
  newDeviations: string[]
  fixedDeviations: string[]
}

/** Worse = moved towards the wrong side of the tolerance: up for an upper limit, down for a lower one, away from an exact value. */
function trendOf(tolerance: string, metric: string, expected: unknown, a: number, b: number): ToleranceChange['trend'] {
  if (a === b) return 'same'
  const op = /(>=|<=|==|!=|>|<)/.exec(tolerance.slice(tolerance.indexOf(metric) + metric.length))?.[1]
  if (op === '<' || op === '<=') return b > a ? 'worse' : 'better'
  if (op === '>' || op === '>=') return b < a ? 'worse' : 'better'
  if (op === '==' && typeof expected === 'number') return Math.abs(b - expected) > Math.abs(a - expected) ? 'worse' : 'better'
  return undefined
}

/** `p99 < 250ms`, or `openP99 < 100ms → < 5ms` when B's experiment changed it */
export const tolText = (t: ToleranceChange) => (t.toleranceB ? `${t.tolerance} → ${t.toleranceB.slice(t.toleranceB.indexOf(t.metric) + t.metric.length).trim()}` : t.tolerance)

const probeKey = (phase: string, probe: string) => `${phase}\u0000${probe}`

export function compareRuns(ra: RunResult, rb: RunResult): Comparison {
  const a = readout(ra)
  const b = readout(rb)
  const tolerances = new Map<string, ToleranceChange>()
  // a tolerance is matched by its metric (the nth on that metric), so a tightened one is one row that changed
  const add = (r: RunResult, side: 'a' | 'b') => {
    for (const p of r.probes) {
      const seen = new Map<string, number>()
      for (const t of p.tolerances) {
        const n = (seen.get(t.metric) ?? 0) + 1
        seen.set(t.metric, n)
        const key = `${probeKey(p.phase, p.name)}\u0000${t.metric}\u0000${n}`
        const row = tolerances.get(key) ?? { phase: p.phase, probe: p.name, tolerance: t.tolerance, metric: t.metric, expected: t.expected, change: 'held' as Change }
        if (side === 'b' && row.a && t.tolerance !== row.tolerance) Object.assign(row, { toleranceB: t.tolerance, expected: t.expected })
        row[side] = { actual: t.actual, ok: t.ok, ...(t.ok ? {} : { by: deviationBy(t) }) }
        tolerances.set(key, row)
      }
    }
  }
  add(ra, 'a')
  add(rb, 'b')
  for (const row of tolerances.values()) {
    row.change = !row.a ? 'only in B' : !row.b ? 'only in A' : row.a.ok && !row.b.ok ? 'new deviation' : !row.a.ok && row.b.ok ? 'fixed' : row.b.ok ? 'held' : 'still deviated'
    if (row.a && row.b && typeof row.a.actual === 'number' && typeof row.b.actual === 'number' && Number.isFinite(row.a.actual) && Number.isFinite(row.b.actual)) {
      const d = row.b.actual - row.a.actual
      const ratio = /rate|ratio/i.test(row.metric) && Math.abs(row.a.actual) <= 1 && Math.abs(row.b.actual) <= 1
      const abs = ratio ? `${(Math.abs(d) * 100).toFixed(2)} points` : metricText(row.metric, Math.abs(d))
      row.delta = d === 0 ? '±0' : `${d > 0 ? '+' : '−'}${abs}`
      row.trend = trendOf(row.toleranceB ?? row.tolerance, row.metric, row.expected, row.a.actual, row.b.actual)
    }
  }

  const violations: Comparison['violations'] = []
  const vset = (r: RunResult) => new Set(r.probes.flatMap((p) => p.violations.map((v) => `${probeKey(p.phase, p.name)}\u0000${v}`)))
  const va = vset(ra)
  const vb = vset(rb)
  const split = (k: string) => k.split('\u0000') as [Phase, string, string]
  for (const k of vb) if (!va.has(k)) violations.push({ phase: split(k)[0], probe: split(k)[1], text: split(k)[2], change: 'new deviation' })
  for (const k of va) if (!vb.has(k)) violations.push({ phase: split(k)[0], probe: split(k)[1], text: split(k)[2], change: 'fixed' })

  const verdicts = new Map<string, VerdictChange>()
  for (const [side, r] of [['a', ra] as const, ['b', rb] as const]) {
    for (const p of r.probes) {
      const row = verdicts.get(probeKey(p.phase, p.name)) ?? { phase: p.phase, probe: p.name }
      row[side] = p.verdict
      verdicts.set(probeKey(p.phase, p.name), row)
    }
  }

  const recoveries = new Map<string, RecoveryChange>()
  for (const [side, o] of [['a', a] as const, ['b', b] as const]) {
    for (const f of o.recoveries) {
      // the nth time the same step injects the same fault type (a repeated step) stays apart
      let key = f.key
      for (let n = 2; recoveries.get(key)?.[side]; n++) key = `${f.key} #${n}`
      const row = recoveries.get(key) ?? { key, label: f.label }
      row[side] = f
      recoveries.set(key, row)
    }
  }
  for (const row of recoveries.values()) {
    if (row.a?.recoveredMs !== undefined && row.b?.recoveredMs !== undefined && row.a.recoveredFrom === row.b.recoveredFrom) row.deltaMs = row.b.recoveredMs - row.a.recoveredMs
  }

  const rows = [...tolerances.values()]
  const name = (x: { phase: string; probe: string }) => `${x.phase} · ${x.probe}`
  return {
    a,
    b,
    sameExperiment: ra.experiment === rb.experiment,
    tolerances: rows,
    violations,
    verdicts: [...verdicts.values()],
    recoveries: [...recoveries.values()],
    newDeviations: [
      ...rows.filter((r) => r.change === 'new deviation').map((r) => `${name(r)}: ${tolText(r)} — ${r.b!.by}`),
      ...violations.filter((v) => v.change === 'new deviation').map((v) => `${name(v)}: ${v.text}`),
    ],
    fixedDeviations: [
      ...rows.filter((r) => r.change === 'fixed').map((r) => `${name(r)}: ${tolText(r)} — now ${metricText(r.metric, r.b!.actual)} (was ${r.a!.by})`),
      ...violations.filter((v) => v.change === 'fixed').map((v) => `${name(v)}: ${v.text}`),
    ],
  }
}

export const scoreCell = (o: Readout) => (o.score.score === undefined ? 'no score' : `${o.score.score} (${confidenceLevel(o.score.confidence)} confidence)`)

export function recoveryCell(f: FaultRecovery | undefined): string {
  if (!f) return '—'
  if (f.unrecovered.length) return 'not recovered'
  return f.recoveredMs === undefined ? 'not measured' : `${formatDuration(f.recoveredMs)} after the ${f.recoveredFrom}`
}

/** One sentence: what changed between the two runs. */
export function headline(c: Comparison): string {
  const parts = [`${c.newDeviations.length} new deviation(s)`, `${c.fixedDeviations.length} fixed`]
  const sa = c.a.score.score
  const sb = c.b.score.score
  if (sa !== undefined || sb !== undefined) parts.push(`score ${sa ?? '—'} → ${sb ?? '—'}`)
  const slower = c.recoveries.filter((r) => (r.deltaMs ?? 0) > 0).length
  const faster = c.recoveries.filter((r) => (r.deltaMs ?? 0) < 0).length
  if (slower) parts.push(`recovery slower for ${slower} fault(s)`)
  if (faster) parts.push(`recovery faster for ${faster} fault(s)`)
  const lost = c.recoveries.filter((r) => r.a && !r.a.unrecovered.length && r.b?.unrecovered.length).length
  if (lost) parts.push(`${lost} fault(s) no longer recovered`)
  return parts.join('; ')
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.min(48, Math.max(...rows.map((r) => (r[i] ?? '').length))))
  return rows.map((r) => '  ' + r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  '))
}

const side = (metric: string, s: Side | undefined) => (s ? `${metricText(metric, s.actual)} ${s.ok ? '✓' : '✗'}` : '—')

/** The comparison for a terminal. */
export function compareText(c: Comparison): string {
  const ra = c.a.result
  const rb = c.b.result
  const out = [
    `${rb.experiment}${c.sameExperiment ? '' : ` (A is ${ra.experiment}: not the same experiment)`}`,
    `  A  ${ra.runId}  ${ra.status}  ${scoreCell(c.a)}  ${ra.startedAt}`,
    `  B  ${rb.runId}  ${rb.status}  ${scoreCell(c.b)}  ${rb.startedAt}`,
    '',
    `What changed: ${headline(c)}`,
    ...c.newDeviations.map((d) => `  ✗ new    ${d}`),
    ...c.fixedDeviations.map((d) => `  ✓ fixed  ${d}`),
    '',
    'Tolerances (A → B)',
    ...table([
      ['phase', 'probe', 'tolerance', 'A', 'B', 'Δ', 'change'],
      ...c.tolerances.map((t) => [t.phase, t.probe, tolText(t), side(t.metric, t.a), side(t.metric, t.b), t.delta ?? '', t.change]),
    ]),
  ]
  if (c.recoveries.length) {
    out.push('', 'Time to recover per fault (A → B)')
    out.push(
      ...table([
        ['fault', 'A', 'B', 'Δ'],
        ...c.recoveries.map((r) => [
          `${r.key.split(' ')[0]} ${r.label}`,
          recoveryCell(r.a),
          recoveryCell(r.b),
          r.deltaMs === undefined ? '' : `${r.deltaMs >= 0 ? '+' : '−'}${formatDuration(Math.abs(r.deltaMs))}`,
        ]),
      ]),
    )
    for (const r of c.recoveries.filter((x) => x.b)) out.push(`  B: ${r.label}: ${describeRecovery(r.b!)}`)
  }
  const changed = c.verdicts.filter((v) => v.a !== v.b)
  if (changed.length) out.push('', 'Verdicts that changed', ...changed.map((v) => `  ${v.phase} · ${v.probe}: ${v.a ?? '—'} → ${v.b ?? '—'}`))
  return out.join('\n') + '\n'
}
