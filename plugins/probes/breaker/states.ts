/**
 * The breaker seen from inside: state changes per breaker instance (a task, a process, a
 * labelled series) as a white-box source reports them, lined up with the calls and the faults.
 * Pure: the sources (sources.ts) only turn what they read into `StateChange`s.
 */
import type { FaultEvent } from '../../../src/api/index.ts'
import { percentile } from './calls.ts'

export type BreakerState = 'closed' | 'open' | 'half-open'
export const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half-open']

export interface StateChange {
  /** run clock when the change was seen */
  t: number
  /** which breaker: a task id, a label value, an endpoint URL */
  instance: string
  state: BreakerState
}

/** A call as the white-box analysis needs it: which instance answered, when it was sent and how long it took. */
export interface AttributedCall {
  t: number
  latency: number
  /** the instance that answered, when the answer says so */
  servedBy?: string
}

export interface StateAnalysis {
  opens: number
  halfOpens: number
  closes: number
  tasksOpened: number
  stuckOpen: number
  opensWithinMs: number
  closesWithinMs: number
  answeredWhileOpen: number
  openP99: number
}

/** Only real changes: a source may repeat a state (a poll, a re-sent event). */
export function transitions(changes: StateChange[]): StateChange[] {
  const last = new Map<string, BreakerState>()
  const out: StateChange[] = []
  for (const c of [...changes].sort((a, b) => a.t - b.t)) {
    // an instance first seen closed is where it starts, not a change
    if (last.get(c.instance) === c.state || (!last.has(c.instance) && c.state === 'closed')) {
      last.set(c.instance, c.state)
      continue
    }
    last.set(c.instance, c.state)
    out.push(c)
  }
  return out
}

export function currentStates(changes: StateChange[]): Map<string, BreakerState> {
  const state = new Map<string, BreakerState>()
  for (const c of [...changes].sort((a, b) => a.t - b.t)) state.set(c.instance, c.state)
  return state
}

export function analyseStates(changes: StateChange[], calls: AttributedCall[], faults: FaultEvent[]): StateAnalysis {
  const events = transitions(changes)
  const now = currentStates(changes)
  const stillOpen = [...now.entries()].filter(([, s]) => s !== 'closed').map(([i]) => i)
  const firstInjected = faults.find((f) => f.kind === 'injected')?.at
  const lastReverted = [...faults].reverse().find((f) => f.kind === 'reverted')?.at
  const firstOpen = events.find((e) => e.state === 'open' && (firstInjected === undefined || e.t >= firstInjected))
  const opened = new Set(events.filter((e) => e.state === 'open').map((e) => e.instance))
  let closesWithinMs = NaN
  if (lastReverted !== undefined && opened.size && stillOpen.length === 0) {
    const lastClose = Math.max(...[...opened].map((i) => Math.max(...events.filter((e) => e.instance === i && e.state === 'closed').map((e) => e.t))))
    closesWithinMs = Math.max(0, lastClose - lastReverted)
  }
  const stateAt = (instance: string, t: number): BreakerState => {
    let state: BreakerState = 'closed'
    for (const e of events) if (e.instance === instance && e.t <= t) state = e.state
    return state
  }
  const changedDuring = (instance: string, from: number, to: number) => events.some((e) => e.instance === instance && e.t > from && e.t <= to)
  const instances = [...now.keys()]
  // "while open": the answering instance's breaker was open for the whole call — a call that
  // started before it opened, or met the half-open trial, is not fail-fast. When the answer does
  // not say who answered, every known breaker must have been open for the whole call.
  const openThroughout = (who: string, c: AttributedCall) => stateAt(who, c.t) === 'open' && !changedDuring(who, c.t, c.t + c.latency)
  const whileOpen = calls
    .filter((c) =>
      c.servedBy !== undefined && now.has(c.servedBy) ? openThroughout(c.servedBy, c) : instances.length > 0 && instances.every((i) => openThroughout(i, c)),
    )
    .map((c) => c.latency)
  return {
    opens: events.filter((e) => e.state === 'open').length,
    halfOpens: events.filter((e) => e.state === 'half-open').length,
    closes: events.filter((e) => e.state === 'closed').length,
    tasksOpened: opened.size,
    stuckOpen: stillOpen.length,
    opensWithinMs: firstOpen ? firstOpen.t - (firstInjected ?? 0) : NaN,
    closesWithinMs,
    answeredWhileOpen: whileOpen.length,
    openP99: percentile(whileOpen, 99),
  }
}
