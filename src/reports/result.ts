/**
 * result.json: the run summarized from its journal alone — so `gameday report RUN_DIR`
 * regenerates it, and a crashed run (no run.ended) still yields a result that says so.
 */
import type { Json, ResolvedTarget } from '../api/fault.ts'
import type { EventOf, JournalEvent, RunStatus, VerdictFindings } from '../journal/events.ts'

export interface FaultResult {
  faultId: string
  type: string
  path: string
  targets: ResolvedTarget[]
  params: Json
  injectedAt?: string
  revertedAt?: string
  /** ms from the injecting entry to the reverted entry */
  heldMs?: number
  /** run clock (ms) of the injecting and reverted entries, to draw the fault's window */
  injectingT?: number
  revertedT?: number
  state: 'injecting' | 'injected' | 'reverted' | 'inject-failed' | 'revert-failed'
  error?: string
}

export interface ProbeVerdict extends VerdictFindings {
  name: string
  type: string
  /** run-clock ms when the probe started: series point t (s) is relative to it */
  startedT?: number
  /** run clock (ms) and wall clock of the verdict: together they place the wall-clock times in details on the run clock */
  endedT?: number
  endedAt?: string
}

export interface RunResult {
  runId: string
  experiment: string
  experimentFile: string
  environment: string
  seed: number
  status: RunStatus | 'incomplete'
  reason?: string
  startedAt: string
  endedAt?: string
  durationMs?: number
  environmentUpMs?: number
  faults: FaultResult[]
  probes: ProbeVerdict[]
  steps: { path: string; kind: string; name?: string; ok?: boolean; error?: string; tookMs?: number; startedT: number }[]
  guardrails: { guardrail: string; detail: string; at: string }[]
  evidence: { kind: string; source: string; at: string; t: number; data: Json }[]
  /** fault timeline on the run's monotonic clock (ms), for lining up with probe series */
  timeline: { t: number; at: string; event: string }[]
}

export function buildResult(events: JournalEvent[]): RunResult {
  const start = events.find((e): e is EventOf<'run.started'> => e.type === 'run.started')
  if (!start) throw new Error('journal has no run.started event')
  const end = events.find((e): e is EventOf<'run.ended'> => e.type === 'run.ended')
  const faults = new Map<string, FaultResult & { t0: number }>()
  const probeStarts = new Map<string, number>()
  const result: RunResult = {
    runId: start.runId,
    experiment: start.experiment,
    experimentFile: start.experimentFile,
    environment: start.environment,
    seed: start.seed,
    status: end?.status ?? 'incomplete',
    ...(end?.reason ? { reason: end.reason } : !end ? { reason: 'the journal has no run.ended: the run crashed or is still going; `gameday recover` reverts what it left' } : {}),
    startedAt: start.at,
    ...(end ? { endedAt: end.at, durationMs: end.tookMs } : {}),
    faults: [],
    probes: [],
    steps: [],
    guardrails: [],
    evidence: [],
    timeline: [],
  }
  for (const e of events) {
    switch (e.type) {
      case 'environment.up':
        if (e.startedByRun) result.environmentUpMs = e.tookMs
        break
      case 'step.started':
        result.steps.push({ path: e.path, kind: e.kind, ...(e.name ? { name: e.name } : {}), startedT: e.t })
        break
      case 'step.ended': {
        const s = [...result.steps].reverse().find((x) => x.path === e.path)
        if (s) Object.assign(s, { ok: e.ok, tookMs: e.tookMs, ...(e.error ? { error: e.error } : {}) })
        break
      }
      case 'fault.injecting':
        faults.set(e.faultId, { faultId: e.faultId, type: e.fault, path: e.path, targets: e.targets, params: e.params, state: 'injecting', injectingT: e.t, t0: e.t })
        result.timeline.push({ t: e.t, at: e.at, event: `inject ${e.fault} → ${e.targets.map((t) => t.id).join(', ')}` })
        break
      case 'fault.injected': {
        const f = faults.get(e.faultId)
        if (f) Object.assign(f, { state: 'injected', injectedAt: e.at })
        break
      }
      case 'fault.inject-failed': {
        const f = faults.get(e.faultId)
        if (f) Object.assign(f, { state: 'inject-failed', error: e.error })
        break
      }
      case 'fault.reverted': {
        const f = faults.get(e.faultId)
        if (f) {
          Object.assign(f, { state: 'reverted', revertedAt: e.at, revertedT: e.t, heldMs: Math.round(e.t - f.t0) })
          result.timeline.push({ t: e.t, at: e.at, event: `revert ${f.type} → ${f.targets.map((t) => t.id).join(', ')}` })
        }
        break
      }
      case 'fault.revert-failed': {
        const f = faults.get(e.faultId)
        if (f) Object.assign(f, { state: 'revert-failed', error: e.error })
        break
      }
      case 'probe.started':
        probeStarts.set(`${e.probe}/${e.phase}`, e.t)
        break
      case 'probe.verdict':
        result.probes.push({
          ...(probeStarts.has(`${e.probe}/${e.phase}`) ? { startedT: probeStarts.get(`${e.probe}/${e.phase}`) } : {}),
          name: e.probe,
          type: e.probeType,
          endedT: e.t,
          endedAt: e.at,
          phase: e.phase,
          verdict: e.verdict,
          metrics: e.metrics,
          ...(e.units ? { units: e.units } : {}),
          tolerances: e.tolerances,
          violations: e.violations,
          ...(e.inconclusive?.length ? { inconclusive: e.inconclusive } : {}),
          ...(e.series ? { series: e.series } : {}),
          ...(e.details !== undefined ? { details: e.details } : {}),
          ...(e.error ? { error: e.error } : {}),
        })
        break
      case 'guardrail.tripped':
        result.guardrails.push({ guardrail: e.guardrail, detail: e.detail, at: e.at })
        result.timeline.push({ t: e.t, at: e.at, event: `guardrail ${e.guardrail}: ${e.detail}` })
        break
      case 'evidence':
        result.evidence.push({ kind: e.kind, source: e.source, at: e.at, t: e.t, data: e.data })
        break
      case 'phase.started':
        result.timeline.push({ t: e.t, at: e.at, event: `phase ${e.phase}` })
        break
      case 'signal':
        result.timeline.push({ t: e.t, at: e.at, event: `signal ${e.signal}` })
        break
    }
  }
  result.faults = [...faults.values()].map(({ t0: _t0, ...f }) => f)
  return result
}
