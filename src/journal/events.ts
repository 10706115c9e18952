/**
 * Journal events: the append-only record of a run, one JSON object per line. Every report is
 * derived from these alone, so a crashed run still leaves its evidence and the faults to revert.
 */
import type { Json, ResolvedTarget } from '../api/fault.ts'
import type { MetricUnit, Metrics, Phase, SeriesPoint, VerdictKind } from '../api/probe.ts'
import type { TargetSelector } from '../api/selector.ts'
import type { ToleranceResult } from '../experiment/tolerance.ts'

/** inconclusive: nothing deviated, but some verdict rests on no evidence (a pass that could not have failed) */
export type RunStatus = 'passed' | 'inconclusive' | 'deviated' | 'aborted' | 'errored'

/** What a probe's verdict found: journaled by the engine, carried as is into result.json. */
export interface VerdictFindings {
  phase: Phase
  verdict: VerdictKind
  metrics: Metrics
  /** the declared unit of each metric reported (count, ms, ratio, …); absent in journals written before units were declared */
  units?: Record<string, MetricUnit>
  tolerances: ToleranceResult[]
  violations: string[]
  /** why a verdict whose tolerances held is inconclusive */
  inconclusive?: string[]
  series?: SeriesPoint[]
  details?: Json
  error?: string
}

interface Base {
  /** wall clock, ISO 8601 */
  at: string
  /** monotonic ms since run start */
  t: number
}

export type JournalEvent = Base &
  (
    | {
        type: 'run.started'
        runId: string
        experiment: string
        experimentFile: string
        environment: string
        environmentFile: string
        seed: number
        gameday: string
        host: string
        pid: number
      }
    | { type: 'environment.up'; tookMs: number; startedByRun: boolean }
    | { type: 'environment.down'; tookMs: number }
    | { type: 'phase.started'; phase: PhaseName }
    | { type: 'phase.ended'; phase: PhaseName; ok: boolean }
    | { type: 'step.started'; path: string; kind: string; name?: string }
    | { type: 'step.ended'; path: string; ok: boolean; error?: string; tookMs: number }
    | {
        type: 'fault.injecting'
        faultId: string
        fault: string
        path: string
        selector: TargetSelector
        params: Json
        targets: ResolvedTarget[]
      }
    | { type: 'fault.checkpoint'; faultId: string; revert: Json }
    | { type: 'fault.injected'; faultId: string; revert: Json; tookMs: number }
    | { type: 'fault.inject-failed'; faultId: string; error: string }
    | { type: 'fault.reverting'; faultId: string; reason: string }
    | { type: 'fault.reverted'; faultId: string; tookMs: number }
    | { type: 'fault.revert-failed'; faultId: string; error: string }
    | { type: 'probe.started'; probe: string; probeType: string; phase: Phase }
    | { type: 'probe.sample'; probe: string; phase: Phase; metrics: Metrics }
    | ({ type: 'probe.verdict'; probe: string; probeType: string } & VerdictFindings)
    | { type: 'evidence'; kind: string; source: string; data: Json }
    | { type: 'guardrail.tripped'; guardrail: string; detail: string }
    | { type: 'signal'; signal: string }
    | { type: 'log'; level: 'info' | 'warn'; message: string }
    | { type: 'run.ended'; status: RunStatus; reason?: string; tookMs: number }
  )

export type PhaseName = 'steady-state-before' | 'method' | 'rollback' | 'steady-state-after'

export type EventOf<T extends JournalEvent['type']> = Extract<JournalEvent, { type: T }>
