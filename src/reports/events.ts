/**
 * The run's events as lanes on the run clock (seconds): fault windows, the JetStream meta leader,
 * cluster health, each breaker's states, task stops and replacements, lame ducks, client
 * reconnections, and the first sign of lost or wrong data. Read from result.json alone: the
 * journal's timeline and evidence, and the details probes return.
 */
import type { Json } from '../api/fault.ts'
import type { FaultResult, ProbeVerdict, RunResult } from './result.ts'
import { formatDuration } from '../util/duration.ts'
import { counterexampleOf } from './counterexample.ts'

/** how an event reads: a fault, something broken, a warning, back to normal, information */
export type Tone = 'fault' | 'bad' | 'warn' | 'ok' | 'info'

export interface Span {
  from: number
  to: number
  label: string
  tone: Tone
  detail?: string
}

export interface Mark {
  t: number
  label: string
  tone: Tone
  detail?: string
}

export interface Lane {
  title: string
  spans: Span[]
  marks: Mark[]
}

export interface RunEvents {
  /** the seconds the charts show: the method, from the first probe or fault to the last */
  domain: { min: number; max: number }
  lanes: Lane[]
  /** fault windows, shaded on every chart */
  windows: Span[]
  /** events worth a vertical line on every chart: leader changes, first losses, counterexamples */
  markers: Mark[]
}

const sec = (ms: number) => Math.round(ms) / 1000

type Obj = { [k: string]: Json }
const isObj = (v: Json | undefined): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const str = (v: Json | undefined) => (typeof v === 'string' ? v : undefined)
const num = (v: Json | undefined) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)

/** A wall-clock time placed on the run clock, through an entry known on both clocks. */
export function runClock(iso: string | undefined, anchor: { t: number; at: string }): number | undefined {
  const ms = iso ? Date.parse(iso) : NaN
  return Number.isFinite(ms) ? anchor.t + (ms - Date.parse(anchor.at)) : undefined
}

export function faultLabel(f: FaultResult): string {
  return `${f.type} → ${f.targets.map((t) => t.id).join(', ') || '(no target)'}`
}

/** The seconds the charts show. */
export function chartDomain(r: RunResult): { min: number; max: number } {
  const during = r.probes.filter((p) => p.phase === 'during' || p.phase === 'method')
  const starts = [...during.map((p) => p.startedT ?? Infinity), ...r.faults.map((f) => f.injectingT ?? Infinity)]
  const ends = [
    ...during.map((p) => Math.max(p.endedT ?? -Infinity, (p.startedT ?? 0) + 1000 * (p.series?.at(-1)?.t ?? 0) + 1000)),
    ...r.faults.map((f) => f.revertedT ?? f.injectingT ?? -Infinity),
  ]
  const method = r.timeline.find((e) => e.event === 'phase method')?.t
  let min = Math.min(...starts, method ?? Infinity)
  let max = Math.max(...ends)
  if (!Number.isFinite(min)) min = 0
  if (!Number.isFinite(max) || max <= min) max = Math.max(min + 1000, r.durationMs ?? 0)
  return { min: Math.floor(min / 1000), max: Math.ceil(max / 1000) }
}

export function runEvents(r: RunResult): RunEvents {
  const domain = chartDomain(r)
  const end = domain.max
  const lanes: Lane[] = []
  const markers: Mark[] = []

  // faults: their windows, and what the faults themselves observed (routes severed, healed)
  const faultLane: Lane = { title: 'faults', spans: [], marks: [] }
  for (const f of r.faults) {
    if (f.injectingT === undefined) continue
    const to = f.revertedT !== undefined ? sec(f.revertedT) : end
    const held = f.heldMs !== undefined ? `held ${formatDuration(f.heldMs)}` : f.state
    faultLane.spans.push({ from: sec(f.injectingT), to, label: faultLabel(f), tone: 'fault', detail: `${f.path}: ${held}${f.error ? ` — ${f.error}` : ''}` })
    if (f.state === 'inject-failed' || f.state === 'revert-failed') faultLane.marks.push({ t: to, label: `${f.state}: ${f.type}`, tone: 'bad', detail: f.error })
  }
  for (const e of r.evidence.filter((x) => x.source === 'fault' && /^routez-/.test(x.kind))) {
    const severed = e.kind === 'routez-during-partition'
    const healed = e.kind === 'routez-after-heal'
    const d = isObj(e.data) ? e.data : {}
    const label = severed ? `routes severed${num(d.noticedAfterMs) !== undefined ? ` (noticed after ${formatDuration(num(d.noticedAfterMs)!)})` : ''}` : healed ? 'route mesh whole again' : e.kind
    faultLane.marks.push({ t: sec(e.t), label, tone: severed ? 'warn' : healed ? 'ok' : 'info', detail: str(d.note) })
  }
  for (const e of r.timeline.filter((x) => x.event.startsWith('guardrail '))) {
    faultLane.marks.push({ t: sec(e.t), label: e.event, tone: 'bad' })
    markers.push({ t: sec(e.t), label: 'guardrail tripped', tone: 'bad' })
  }
  if (faultLane.spans.length || faultLane.marks.length) lanes.push(faultLane)

  lanes.push(...leaderLanes(r, domain, markers))
  for (const p of r.probes.filter((x) => x.type === 'nats-cluster-health' && x.phase === 'during')) lanes.push(clusterLane(r, p))
  for (const p of r.probes.filter((x) => x.phase === 'during' || x.phase === 'method')) lanes.push(...breakerLanes(p, end))
  lanes.push(...taskLanes(r), ...lameDuckLanes(r), ...reconnectLanes(r))
  const losses = lossLane(r)
  if (losses.marks.length) {
    lanes.push(losses)
    // only the first of each kind gets a line across the charts
    const kinds = new Set<string>()
    for (const m of losses.marks) {
      const kind = m.label.split(':')[0]
      if (!kinds.has(kind)) markers.push(m)
      kinds.add(kind)
    }
  }
  return { domain, lanes: lanes.filter((l) => l.spans.length || l.marks.length), windows: faultLane.spans, markers }
}

/** Who led JetStream's meta group, from the leader changes the cluster-health probe saw. */
function leaderLanes(r: RunResult, domain: { min: number; max: number }, markers: Mark[]): Lane[] {
  const changes = r.evidence.filter((e) => e.kind === 'meta-leader-change' && isObj(e.data))
  const watcher = r.probes.find((p) => p.type === 'nats-cluster-health' && p.phase === 'during')
  if (!changes.length && !watcher) return []
  const lane: Lane = { title: 'meta leader', spans: [], marks: [] }
  let from = watcher?.startedT !== undefined ? sec(watcher.startedT) : domain.min
  for (const e of changes) {
    const d = e.data as Obj
    const at = sec(e.t)
    lane.spans.push({ from, to: at, label: str(d.from) ?? '?', tone: 'info' })
    const mark = { t: at, label: `meta leader ${str(d.from)} → ${str(d.to)}`, tone: 'warn' as const }
    lane.marks.push(mark)
    markers.push(mark)
    from = at
  }
  const last = changes.length ? str((changes.at(-1)!.data as Obj).to) : String(watcher?.metrics.metaLeader ?? '?')
  lane.spans.push({ from, to: watcher?.endedT !== undefined ? sec(watcher.endedT) : domain.max, label: last ?? '?', tone: 'info', detail: changes.length ? undefined : 'no change' })
  return [lane]
}

/** Unhealthy stretches of the cluster (from the probe's samples) and its recoveries after reverts. */
function clusterLane(r: RunResult, p: ProbeVerdict): Lane {
  const lane: Lane = { title: 'cluster health', spans: [], marks: [] }
  const t0 = (p.startedT ?? 0) / 1000
  const samples = p.series ?? []
  for (let i = 0; i < samples.length; i++) {
    if (samples[i].healthy !== 0) continue
    let j = i
    let worst = samples[i].healthyNodes
    while (j + 1 < samples.length && samples[j + 1].healthy === 0) worst = Math.min(worst, samples[++j].healthyNodes)
    const to = j + 1 < samples.length ? samples[j + 1].t : samples[j].t
    const nodes = typeof worst === 'number' ? `, down to ${worst} healthy node(s)` : ''
    lane.spans.push({ from: t0 + samples[i].t, to: t0 + to, label: `unhealthy${nodes}`, tone: 'bad' })
    i = j
  }
  for (const e of r.evidence.filter((x) => x.kind === 'recovery' && x.source === `probe:${p.name}` && isObj(x.data))) {
    const d = e.data as Obj
    const ok = num(d.afterRevertMs) !== undefined
    const label = ok ? `healthy ${formatDuration(num(d.afterRevertMs)!)} after the revert` : `not healthy ${formatDuration(num(d.unrecoveredAfterMs) ?? 0)} after the revert`
    lane.marks.push({ t: sec(e.t), label, tone: ok ? 'ok' : 'bad', detail: str(d.summary) })
  }
  return lane
}

const BREAKER = /^breaker (\S+) → (open|half-open|closed)$/

/** One lane per task: open (red) and half-open (amber) stretches of its breaker. */
function breakerLanes(p: ProbeVerdict, end: number): Lane[] {
  const timeline = isObj(p.details) && Array.isArray(p.details.timeline) ? p.details.timeline : []
  const byTask = new Map<string, { t: number; state: string }[]>()
  for (const e of timeline) {
    if (!isObj(e) || typeof e.t !== 'number' || typeof e.event !== 'string') continue
    const m = BREAKER.exec(e.event)
    if (m) byTask.set(m[1], [...(byTask.get(m[1]) ?? []), { t: sec(e.t), state: m[2] }])
  }
  return [...byTask].map(([task, states]) => {
    const lane: Lane = { title: `breaker ${task}`, spans: [], marks: [] }
    states.forEach((s, i) => {
      if (s.state === 'closed') {
        if (i > 0) lane.marks.push({ t: s.t, label: `${task} closed`, tone: 'ok' })
        return
      }
      const next = states[i + 1]
      lane.spans.push({
        from: s.t,
        to: next?.t ?? end,
        label: next ? s.state : `${s.state} (still at the end)`,
        tone: s.state === 'open' ? 'bad' : 'warn',
        detail: `${task}: ${s.state}${next ? ` for ${formatDuration(1000 * (next.t - s.t))}` : ''}`,
      })
    })
    return lane
  })
}

/** Task stops (stop asked → exited) and their replacements (ready), one lane per service. */
function taskLanes(r: RunResult): Lane[] {
  const lanes = new Map<string, Lane>()
  const laneOf = (service: string) => lanes.get(service) ?? lanes.set(service, { title: `tasks ${service}`, spans: [], marks: [] }).get(service)!
  for (const e of r.evidence) {
    if (!isObj(e.data)) continue
    const d = e.data
    if (e.kind === 'task.stopped') {
      const asked = runClock(str(d.requestedAt), e) ?? e.t
      const exited = asked + (num(d.exitedAfterMs) ?? num(d.stopMs) ?? 0)
      const lane = laneOf(str(d.service) ?? 'service')
      lane.spans.push({ from: sec(asked), to: sec(exited), label: `${str(d.action) ?? 'stop'} ${str(d.task)}`, tone: 'warn', detail: str(d.summary) })
      const ready = num(d.replacementReadyMs)
      if (ready !== undefined) lane.marks.push({ t: sec(asked + ready), label: `${str(d.replacement)} ready`, tone: 'ok', detail: str(d.summary) })
    } else if (e.kind === 'ecs.tasks-stopped') {
      const tasks = Array.isArray(d.tasks) ? d.tasks.length : 0
      laneOf(str(d.service) ?? 'service').marks.push({ t: sec(runClock(str(d.at), e) ?? e.t), label: `${tasks} task(s) stopped`, tone: 'warn' })
    }
  }
  return [...lanes.values()]
}

function lameDuckLanes(r: RunResult): Lane[] {
  const lane: Lane = { title: 'lame duck', spans: [], marks: [] }
  for (const e of r.evidence.filter((x) => x.kind === 'nats.lame-duck' && isObj(x.data))) {
    const d = e.data as Obj
    const from = runClock(str(d.signalledAt), e) ?? e.t
    const exit = num(d.exitMs)
    lane.spans.push({ from: sec(from), to: sec(from + (exit ?? 0)), label: `${str(d.node)} lame duck`, tone: 'warn', detail: str(d.summary) })
    const healthy = num(d.healthyAfterMs)
    if (exit !== undefined && healthy !== undefined) {
      lane.marks.push({ t: sec(from + exit + (num(d.restartMs) ?? 0) + healthy), label: `${str(d.node)} back, cluster whole`, tone: 'ok', detail: str(d.summary) })
    }
  }
  return [lane]
}

/** Probe-owned NATS connections: disconnect → reconnect. */
function reconnectLanes(r: RunResult): Lane[] {
  const lane: Lane = { title: 'client reconnects', spans: [], marks: [] }
  for (const e of r.evidence.filter((x) => x.kind === 'nats.reconnect' && isObj(x.data))) {
    const d = e.data as Obj
    const from = runClock(str(d.disconnectAt), e)
    const to = runClock(str(d.reconnectAt), e) ?? e.t
    lane.spans.push({ from: sec(from ?? to), to: sec(to), label: `client ${num(d.client) ?? '?'}`, tone: 'info', detail: str(d.summary) })
  }
  return [lane]
}

/** The first lost value, lost or hung request, and the operation a counterexample blocks on. */
function lossLane(r: RunResult): Lane {
  const lane: Lane = { title: 'data & requests', spans: [], marks: [] }
  for (const p of r.probes.filter((x) => x.phase === 'during' || x.phase === 'method')) {
    if (!isObj(p.details)) continue
    const d = p.details
    const anchor = p.endedT !== undefined && p.endedAt ? { t: p.endedT, at: p.endedAt } : undefined
    const firstLost = Array.isArray(d.firstLost) ? d.firstLost[0] : undefined
    if (isObj(firstLost) && num(firstLost.t) !== undefined) {
      lane.marks.push({
        t: num(firstLost.t)!,
        label: `first lost value: ${num(firstLost.value) ?? '?'} (writer ${firstLost.writer ?? '?'}, seq ${firstLost.seq ?? '?'})`,
        tone: 'bad',
        detail: `${p.name}: ${num(p.metrics.lost) ?? '?'} acknowledged value(s) lost`,
      })
    }
    for (const kind of ['lost', 'hung'] as const) {
      const first = Array.isArray(d[kind]) ? d[kind][0] : undefined
      const t = isObj(first) && anchor ? runClock(str(first.sentAt), anchor) : undefined
      if (isObj(first) && t !== undefined) {
        lane.marks.push({ t: sec(t), label: `first ${kind} request: ${str(first.id)}`, tone: 'bad', detail: `${p.name}: ${str(first.cause) ?? ''} after ${num(first.ms) ?? '?'}ms` })
      }
    }
    const cx = counterexampleOf(p)
    if (cx) {
      const blocked = cx.ops.find((o) => o.role === 'blocked')!
      lane.marks.push({
        t: cx.originT !== undefined ? sec(cx.originT + blocked.call) : sec(p.endedT ?? 0),
        label: `counterexample: p${blocked.process} ${blocked.text}`,
        tone: 'bad',
        detail: `${p.name}: ${cx.partition ?? ''} — no linearization admits it`,
      })
    }
  }
  return lane
}
