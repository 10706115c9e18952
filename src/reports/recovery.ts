/**
 * What each fault did and how long the system took to get over it, from what the run recorded:
 * the seconds a load probe spent outside its tolerance, the cluster's recovery after the revert,
 * leader elections, breakers opening and closing, tasks replaced, clients reconnecting.
 *
 * Time to recover is measured from the revert (the fault is gone; how long until every signal is
 * normal again); a fault absorbed while still active (a new leader elected, a breaker open) shows
 * as recovered before the revert. Task stops have no revert: their time is to the replacement.
 */
import type { Json } from '../api/fault.ts'
import type { FaultResult, ProbeVerdict, RunResult } from './result.ts'
import { faultLabel, runClock } from './events.ts'
import { metricText } from './format.ts'
import { formatDuration } from '../util/duration.ts'

export interface RecoverySignal {
  probe?: string
  /** what came back: "cluster healthy", "breakers closed", "gateway-load within tolerance" */
  name: string
  /** one line for humans */
  text: string
  /** ms from the revert (negative: before it) / from the injection until this signal was normal again */
  afterRevertMs?: number
  afterInjectMs?: number
  /** false: never back to normal while the run watched */
  recovered: boolean
}

export interface FaultRecovery {
  faultId: string
  /** matches the same fault across two runs of one experiment */
  key: string
  label: string
  injectedT?: number
  revertedT?: number
  signals: RecoverySignal[]
  /** the longest signal's time; undefined when something never recovered or nothing was measured */
  recoveredMs?: number
  recoveredFrom?: 'revert' | 'injection'
  /** which signal was last back */
  lastBack?: string
  unrecovered: string[]
}

type Obj = { [k: string]: Json }
const isObj = (v: Json | undefined): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const rel = (ms: number) => `${ms < 0 ? '−' : '+'}${formatDuration(Math.abs(ms))}`

export const faultKey = (f: FaultResult) => `${f.path} ${f.type}`

export function faultRecoveries(r: RunResult): FaultRecovery[] {
  const faults = r.faults.filter((f) => f.injectingT !== undefined).sort((a, b) => a.injectingT! - b.injectingT!)
  return faults.map((f, i) => {
    const from = f.injectingT!
    const revert = f.revertedT
    // a fault's effects are looked for until the next fault starts, or the end of the run
    const until = faults[i + 1]?.injectingT ?? Infinity
    const signals = [
      ...r.probes.filter((p) => p.phase === 'during' || p.phase === 'method').flatMap((p) => loadSignal(p, from, revert, until) ?? []),
      ...clusterSignals(r, from, revert, until),
      ...r.probes.flatMap((p) => breakerSignal(p, from, revert, until) ?? []),
      ...taskSignals(r, from, until),
      ...lameDuckSignals(r, from, revert, until),
      ...reconnectSignals(r, from, until),
    ]
    const rec: FaultRecovery = { faultId: f.faultId, key: faultKey(f), label: faultLabel(f), injectedT: from, ...(revert !== undefined ? { revertedT: revert } : {}), signals, unrecovered: [] }
    rec.unrecovered = signals.filter((s) => !s.recovered).map((s) => s.text)
    const fromRevert = signals.filter((s) => s.afterRevertMs !== undefined)
    const fromInject = signals.filter((s) => s.afterInjectMs !== undefined && s.afterRevertMs === undefined)
    if (!rec.unrecovered.length && (fromRevert.length || fromInject.length)) {
      const last = fromRevert.length
        ? fromRevert.reduce((a, b) => (b.afterRevertMs! > a.afterRevertMs! ? b : a))
        : fromInject.reduce((a, b) => (b.afterInjectMs! > a.afterInjectMs! ? b : a))
      rec.recoveredFrom = fromRevert.length ? 'revert' : 'injection'
      rec.recoveredMs = Math.max(0, fromRevert.length ? last.afterRevertMs! : last.afterInjectMs!)
      rec.lastBack = last.name
    }
    return rec
  })
}

/** One line: "1.3s after the revert (cluster healthy …)" / "absorbed before the revert" / "not recovered: …". */
export function describeRecovery(f: FaultRecovery): string {
  if (f.unrecovered.length) return `not recovered: ${f.unrecovered.join('; ')}`
  if (f.recoveredMs === undefined) return f.signals.length ? 'no impact measured: every signal stayed normal' : 'nothing measured its recovery'
  const lastRevert = f.signals.map((s) => s.afterRevertMs).filter((v): v is number => v !== undefined)
  if (f.recoveredFrom === 'revert' && lastRevert.length && Math.max(...lastRevert) <= 0) return 'absorbed while the fault was active: every signal normal before the revert'
  return `${formatDuration(f.recoveredMs)} after the ${f.recoveredFrom === 'revert' ? 'revert' : 'injection'} (last back: ${f.lastBack})`
}

/** Seconds of a load probe outside the per-second threshold of its success-rate and latency tolerances. */
function loadSignal(p: ProbeVerdict, from: number, revert: number | undefined, until: number): RecoverySignal | undefined {
  if (!p.series?.length || p.startedT === undefined || !('successRate' in p.series[0])) return undefined
  if (!p.tolerances.some((t) => t.metric === 'successRate' || t.metric === 'p99')) return undefined
  const threshold = (metric: string) => {
    const t = p.tolerances.find((x) => x.metric === metric && typeof x.expected === 'number')
    return t ? { value: t.expected as number } : undefined
  }
  const rate = threshold('successRate') ?? { value: 0.99 }
  const p99 = threshold('p99')
  const bad = p.series.filter((s) => {
    const t = p.startedT! + s.t * 1000
    if (t + 1000 <= from || t >= until || !s.requests) return false
    return s.successRate < rate.value || (p99 !== undefined && s.p99 >= p99.value)
  })
  const limits = `success ≥ ${metricText('successRate', rate.value)}${p99 ? `, p99 < ${metricText('p99', p99.value)}` : ''}`
  const name = `${p.name} within tolerance`
  if (!bad.length) return { probe: p.name, name, text: `${p.name}: every second within ${limits}`, recovered: true }
  const secondAfter = (s: { t: number }) => Math.max(0, Math.round((p.startedT! + s.t * 1000 - from) / 1000))
  const backAt = p.startedT + (bad.at(-1)!.t + 1) * 1000
  // the worst of what was off: the success rate when it dipped, else the latency
  const dipped = bad.filter((s) => s.successRate < rate.value)
  const worst = dipped.length
    ? dipped.reduce((a, b) => (b.successRate < a.successRate ? b : a))
    : bad.reduce((a, b) => (b.p99 > a.p99 ? b : a))
  const worstText = dipped.length ? `success ${metricText('successRate', worst.successRate)}` : `p99 ${formatDuration(worst.p99)}`
  const stillOff = p.series.at(-1) === bad.at(-1)
  const seconds = bad.length === 1 ? `second ${secondAfter(bad[0])}` : `seconds ${secondAfter(bad[0])}–${secondAfter(bad.at(-1)!)}`
  return {
    probe: p.name,
    name,
    text:
      `${p.name}: ${bad.length} second(s) outside ${limits} (${seconds} after injection; worst ${worstText} in second ${secondAfter(worst)})` +
      (stillOff ? ', still outside at the end' : ''),
    afterInjectMs: backAt - from,
    ...(revert !== undefined ? { afterRevertMs: backAt - revert } : {}),
    recovered: !stillOff,
  }
}

function clusterSignals(r: RunResult, from: number, revert: number | undefined, until: number): RecoverySignal[] {
  const out: RecoverySignal[] = []
  for (const e of r.evidence.filter((x) => x.kind === 'meta-leader-change' && x.t >= from && x.t < until && isObj(x.data))) {
    const d = e.data as Obj
    out.push({ probe: e.source.replace(/^probe:/, ''), name: 'meta leader elected', text: `meta leader ${d.from} → ${d.to} ${formatDuration(e.t - from)} after injection`, recovered: true })
  }
  if (revert === undefined) return out
  const name = 'cluster healthy'
  const rec = r.evidence.find((x) => x.kind === 'recovery' && x.t >= revert && x.t < until && isObj(x.data))
  if (rec) {
    const d = rec.data as Obj
    const probe = rec.source.replace(/^probe:/, '')
    if (typeof d.afterRevertMs === 'number') out.push({ probe, name, text: `cluster healthy ${formatDuration(d.afterRevertMs)} after the revert`, afterRevertMs: d.afterRevertMs, recovered: true })
    else out.push({ probe, name, text: `cluster not healthy ${formatDuration(Number(d.unrecoveredAfterMs ?? 0))} after the revert`, recovered: false })
    return out
  }
  // journals from before the probe recorded its recoveries: the first healthy sample after the revert
  for (const p of r.probes.filter((x) => x.type === 'nats-cluster-health' && x.phase === 'during' && x.series?.length && x.startedT !== undefined)) {
    const back = p.series!.find((s) => p.startedT! + s.t * 1000 >= revert && s.healthy === 1)
    const at = back ? p.startedT! + back.t * 1000 : undefined
    if (at !== undefined && at < until) out.push({ probe: p.name, name, text: `cluster healthy ${formatDuration(at - revert)} after the revert (first healthy sample)`, afterRevertMs: at - revert, recovered: true })
    else if (at === undefined) out.push({ probe: p.name, name, text: 'cluster not healthy again while the probe watched', recovered: false })
  }
  return out
}

/** Breakers: how soon they opened after the injection, how soon all closed after the revert. */
function breakerSignal(p: ProbeVerdict, from: number, revert: number | undefined, until: number): RecoverySignal | undefined {
  const timeline = isObj(p.details) && Array.isArray(p.details.timeline) ? p.details.timeline : []
  const events = timeline.flatMap((e) => {
    const m = isObj(e) && typeof e.event === 'string' && typeof e.t === 'number' ? /^breaker (\S+) → (\S+)$/.exec(e.event) : null
    return m ? [{ t: (e as { t: number }).t, task: m[1], state: m[2] }] : []
  })
  const inWindow = events.filter((e) => e.t >= from && e.t < until)
  const firstOpen = inWindow.find((e) => e.state === 'open')
  const name = 'breakers closed'
  if (!firstOpen) return events.length || p.type === 'circuit-breaker' ? { probe: p.name, name: 'no breaker opened', text: `${p.name}: no breaker opened`, recovered: true } : undefined
  const last = new Map<string, { t: number; state: string }>()
  for (const e of inWindow) last.set(e.task, e)
  const open = [...last].filter(([, e]) => e.state !== 'closed').map(([task]) => task)
  const opened = `${p.name}: breakers opened ${formatDuration(firstOpen.t - from)} after injection`
  if (open.length) return { probe: p.name, name, text: `${opened}; ${open.join(', ')} still not closed at the end`, recovered: false }
  const closedAt = Math.max(...[...last.values()].map((e) => e.t))
  return {
    probe: p.name,
    name,
    text: `${opened}; all closed ${revert !== undefined ? `${rel(closedAt - revert)} after the revert` : ''}`.trim(),
    ...(revert !== undefined ? { afterRevertMs: closedAt - revert } : {}),
    afterInjectMs: closedAt - from,
    recovered: true,
  }
}

/** Stopped tasks: time from the stop to a ready replacement. */
function taskSignals(r: RunResult, from: number, until: number): RecoverySignal[] {
  return r.evidence
    .filter((e) => e.kind === 'task.stopped' && isObj(e.data))
    .flatMap((e) => {
      const d = e.data as Obj
      const asked = runClock(typeof d.requestedAt === 'string' ? d.requestedAt : undefined, e) ?? e.t
      if (asked < from - 1000 || asked >= until) return []
      const ready = typeof d.replacementReadyMs === 'number' ? d.replacementReadyMs : undefined
      const text = ready !== undefined ? `${d.task} replaced: ${d.replacement} ready ${formatDuration(ready)} after the stop` : `${d.task}: no replacement seen`
      return [{ name: `${d.task} replaced`, text, ...(ready !== undefined ? { afterInjectMs: asked - from + ready } : {}), recovered: ready !== undefined }]
    })
}

/** Lame-duck waves: each node back and the cluster whole again. */
function lameDuckSignals(r: RunResult, from: number, revert: number | undefined, until: number): RecoverySignal[] {
  return r.evidence
    .filter((e) => e.kind === 'nats.lame-duck' && e.t >= from && e.t < until && isObj(e.data))
    .map((e) => {
      const d = e.data as Obj
      const signalled = runClock(typeof d.signalledAt === 'string' ? d.signalledAt : undefined, e) ?? e.t
      const parts = [d.exitMs, d.restartMs, d.healthyAfterMs]
      const whole = parts.every((x) => typeof x === 'number') ? signalled + (parts as number[]).reduce((a, b) => a + b, 0) : undefined
      const text = typeof d.summary === 'string' ? d.summary : `${d.node}: lame duck`
      if (whole === undefined) return { name: `${d.node} back`, text, recovered: typeof d.healthyAfterMs === 'number' }
      return { name: `${d.node} back`, text, afterInjectMs: whole - from, ...(revert !== undefined ? { afterRevertMs: whole - revert } : {}), recovered: true }
    })
}

/** Reconnections of probe-owned clients: how many, the slowest (informational: no recovery time of their own). */
function reconnectSignals(r: RunResult, from: number, until: number): RecoverySignal[] {
  const all = r.evidence.filter((e) => e.kind === 'nats.reconnect' && e.t >= from && e.t < until && isObj(e.data))
  if (!all.length) return []
  const slowest = Math.max(...all.map((e) => Number((e.data as Obj).reconnectMs ?? 0)))
  return [{ name: 'clients reconnected', text: `${all.length} client reconnection(s), the slowest in ${formatDuration(slowest)}`, recovered: true }]
}
