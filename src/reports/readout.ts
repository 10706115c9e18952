/**
 * The readout an SRE pastes into the game-day write-up: the verdict and score, what was
 * injected, what deviated and by how much, what is inconclusive, and the time to recover per
 * fault. The report page shows it at the top; summary.md opens with it.
 */
import type { ToleranceResult } from '../experiment/tolerance.ts'
import { parseTolerance } from '../experiment/tolerance.ts'
import { formatDuration } from '../util/duration.ts'
import type { ProbeVerdict, RunResult } from './result.ts'
import { describeRecovery, faultRecoveries, type FaultRecovery } from './recovery.ts'
import { metricText } from './format.ts'
import { confidenceLevel, runScore, type RunScore } from './score.ts'

export interface Deviation {
  probe: string
  phase: string
  /** the tolerance, or the violation */
  what: string
  /** "actual 216.7ms against < 100ms: 116.7ms over (2.17×)" */
  by: string
  metric?: string
}

export interface Readout {
  result: RunResult
  score: RunScore
  deviations: Deviation[]
  inconclusive: { probe: string; phase: string; reasons: string[] }[]
  recoveries: FaultRecovery[]
}

/** How far a failed tolerance missed, in the metric's own terms. */
export function deviationBy(t: ToleranceResult): string {
  if (t.actual === undefined || t.actual === null || (typeof t.actual === 'number' && Number.isNaN(t.actual))) return `no value${t.reason ? ` (${t.reason})` : ''}`
  const actual = metricText(t.metric, t.actual, t.unit)
  if (typeof t.actual !== 'number' || typeof t.expected !== 'number') return `${actual}, expected ${t.tolerance.replace(/^\s*\S+\s*/, '')}`
  let op = ''
  try {
    op = parseTolerance(t.tolerance).op
  } catch {
    // an unparseable tolerance still has an actual value to show
  }
  const limit = `${op} ${metricText(t.metric, t.expected, t.unit)}`.trim()
  const gap = Math.abs(t.actual - t.expected)
  const isRatio = /rate|ratio/i.test(t.metric) && t.actual <= 1 && t.expected <= 1
  const how = isRatio ? `${(gap * 100).toFixed(2)} points ${t.actual < t.expected ? 'under' : 'over'}` : `${metricText(t.metric, gap, t.unit)} ${t.actual < t.expected ? 'under' : 'over'}`
  const times = !isRatio && t.expected > 0 && t.actual > t.expected ? ` (${(t.actual / t.expected).toFixed(2)}×)` : ''
  return `${actual} against ${limit}: ${how}${times}`
}

export function deviationsOf(p: ProbeVerdict): Deviation[] {
  if (p.verdict !== 'fail') return []
  return [
    ...p.tolerances.filter((t) => !t.ok).map((t) => ({ probe: p.name, phase: p.phase, what: t.tolerance, by: deviationBy(t), metric: t.metric })),
    ...p.violations.map((v) => ({ probe: p.name, phase: p.phase, what: 'violation', by: v })),
    ...(p.error ? [{ probe: p.name, phase: p.phase, what: 'error', by: p.error }] : []),
  ]
}

export function readout(r: RunResult): Readout {
  return {
    result: r,
    score: runScore(r),
    deviations: r.probes.flatMap(deviationsOf),
    inconclusive: r.probes.filter((p) => p.verdict === 'inconclusive').map((p) => ({ probe: p.name, phase: p.phase, reasons: p.inconclusive ?? [] })),
    recoveries: faultRecoveries(r),
  }
}

export function scoreText(s: RunScore): string {
  if (s.score === undefined) return s.notes.find((n) => n.startsWith('not scored')) ?? 'not scored'
  return `score ${s.score}/100, confidence ${confidenceLevel(s.confidence)} (${Math.round(s.confidence * 100)}%)`
}

/** The readout as Markdown, to paste. */
export function readoutMarkdown(o: Readout): string {
  const r = o.result
  const out = [
    `**${r.experiment}: ${r.status.toUpperCase()}** — ${scoreText(o.score)}`,
    `run \`${r.runId}\` · ${r.environment} · seed ${r.seed} · ${r.startedAt}${r.durationMs !== undefined ? ` · ${formatDuration(r.durationMs)}` : ''}`,
  ]
  if (r.reason) out.push(`> ${r.reason}`)
  out.push('', '**Injected**')
  if (!o.recoveries.length) out.push('- nothing')
  for (const f of o.recoveries) {
    const fault = r.faults.find((x) => x.faultId === f.faultId)!
    const held = fault.heldMs !== undefined ? ` for ${formatDuration(fault.heldMs)}` : ''
    out.push(`- ${f.label} at ${formatDuration(f.injectedT ?? 0)}${held} — time to recover: ${describeRecovery(f)}`)
    for (const s of f.signals) out.push(`  - ${s.text}`)
  }
  out.push('', '**Deviations**')
  if (!o.deviations.length) out.push('- none: every tolerance held')
  for (const d of o.deviations) out.push(`- ${d.phase} · ${d.probe}: ${d.what === 'violation' || d.what === 'error' ? d.by : `\`${d.what}\` — ${d.by}`}`)
  if (o.inconclusive.length) {
    out.push('', '**Inconclusive** (no evidence either way: lowers confidence, not the score)')
    for (const i of o.inconclusive) out.push(`- ${i.phase} · ${i.probe}: ${i.reasons.join('; ') || 'no reason given'}`)
  }
  return out.join('\n') + '\n'
}
