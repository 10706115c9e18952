/**
 * The resilience score: how much of what an experiment asks held, 0–100, with a confidence that
 * says how much of it rests on evidence. README.md ("Resilience score") documents the weights.
 *
 *   - Each conclusive probe verdict scores the share of its checks that held: its tolerances,
 *     plus one failed check per violation (an unknown linearizability answer, a final read that
 *     failed). A pass scores 1.
 *   - Verdicts are weighted by phase: during the method 3 (what the fault tests), steady state
 *     after 2 (did it come back), a probe step 2, steady state before 1 (the precondition).
 *   - A guardrail that tripped is one failed check of weight 3: the system left the safe zone.
 *   - An inconclusive verdict (its tolerances held on no evidence) is left out of the score, and
 *     lowers the confidence: the weight of conclusive verdicts over the weight of all of them.
 *   - A run that errored, crashed or was interrupted has no score: nothing was judged.
 *
 * Per experiment, the runs' scores in time order; its current score is the mean of the last
 * five scored runs, each weighted by its confidence.
 */
import type { Phase } from '../api/probe.ts'
import type { ProbeVerdict, RunResult } from './result.ts'

export const PHASE_WEIGHT: Record<Phase, number> = { during: 3, after: 2, method: 2, before: 1 }
export const GUARDRAIL_WEIGHT = 3
/** how many recent runs make an experiment's current score */
export const TREND_WINDOW = 5

export interface ScoreItem {
  what: string
  weight: number
  /** 0..1, undefined for an inconclusive verdict (no evidence: not scored) */
  held?: number
}

export interface RunScore {
  /** 0..100, undefined when the run has nothing to score */
  score?: number
  /** 0..1: conclusive weight / all weight */
  confidence: number
  /** why there is no score, or what lowers the confidence */
  notes: string[]
  items: ScoreItem[]
}

/** The share of a verdict's checks that held. */
export function verdictHeld(p: ProbeVerdict): number {
  const checks = p.tolerances.length + p.violations.length + (p.error ? 1 : 0)
  if (!checks) return p.verdict === 'fail' ? 0 : 1
  const held = p.tolerances.filter((t) => t.ok).length
  return p.verdict === 'fail' ? Math.min(held / checks, (checks - 1) / checks) : held / checks
}

export function runScore(r: RunResult): RunScore {
  const interrupted = r.status === 'errored' || r.status === 'incomplete' || (r.status === 'aborted' && !r.guardrails.length && /^signal /.test(r.reason ?? ''))
  if (interrupted) return { confidence: 0, notes: [`not scored: the run ${r.status === 'incomplete' ? 'did not finish' : r.status}${r.reason ? ` (${r.reason})` : ''}`], items: [] }
  const items: ScoreItem[] = [
    ...r.probes.map((p) => ({
      what: `${p.phase}: ${p.name}`,
      weight: PHASE_WEIGHT[p.phase],
      ...(p.verdict === 'inconclusive' ? {} : { held: verdictHeld(p) }),
    })),
    ...r.guardrails.map((g) => ({ what: `guardrail ${g.guardrail}`, weight: GUARDRAIL_WEIGHT, held: 0 })),
  ]
  const total = items.reduce((s, i) => s + i.weight, 0)
  const scored = items.filter((i) => i.held !== undefined)
  const weight = scored.reduce((s, i) => s + i.weight, 0)
  const notes = items.filter((i) => i.held === undefined).map((i) => `${i.what} is inconclusive: not scored, lowers the confidence`)
  if (!weight) return { confidence: 0, notes: [...notes, total ? 'not scored: no verdict rests on evidence' : 'not scored: no probe ran'], items }
  const score = Math.round((100 * scored.reduce((s, i) => s + i.weight * i.held!, 0)) / weight)
  return { score, confidence: weight / total, notes, items }
}

export type ConfidenceLevel = 'high' | 'medium' | 'low' | 'none'

export function confidenceLevel(c: number): ConfidenceLevel {
  return c >= 0.999 ? 'high' : c >= 0.6 ? 'medium' : c > 0 ? 'low' : 'none'
}

export interface ScoredRun {
  runId: string
  startedAt: string
  status: RunResult['status']
  score?: number
  confidence: number
}

export interface ExperimentTrend {
  experiment: string
  /** oldest first */
  runs: ScoredRun[]
  /** confidence-weighted mean of the last TREND_WINDOW scored runs */
  current?: number
  /** the latest scored run's score minus the one before it */
  change?: number
}

export function experimentTrend(experiment: string, runs: ScoredRun[]): ExperimentTrend {
  const ordered = [...runs].sort((a, b) => a.startedAt.localeCompare(b.startedAt))
  const scored = ordered.filter((r) => r.score !== undefined && r.confidence > 0)
  const recent = scored.slice(-TREND_WINDOW)
  const w = recent.reduce((s, r) => s + r.confidence, 0)
  return {
    experiment,
    runs: ordered,
    ...(w ? { current: Math.round(recent.reduce((s, r) => s + r.score! * r.confidence, 0) / w) } : {}),
    ...(scored.length > 1 ? { change: scored.at(-1)!.score! - scored.at(-2)!.score! } : {}),
  }
}

export function scoredRun(r: RunResult, s: RunScore = runScore(r)): ScoredRun {
  return { runId: r.runId, startedAt: r.startedAt, status: r.status, ...(s.score !== undefined ? { score: s.score } : {}), confidence: s.confidence }
}
