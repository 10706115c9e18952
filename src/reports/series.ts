/**
 * The per-second series probes report, grouped into charts by unit (success rate, latency,
 * throughput, counts, states), on the run clock in seconds, with the tolerances that bear on them.
 */
import type { ProbeVerdict, RunResult } from './result.ts'
import { parseTolerance } from '../experiment/tolerance.ts'

/** what a chart's y axis measures; the page formats values by it */
export type ChartUnit = 'ratio' | 'ms' | 'per-second' | 'count' | 'state' | 'score'

export interface ChartLine {
  key: string
  label: string
  values: (number | null)[]
  color?: string
  /** canvas dash pattern, e.g. [5, 4] */
  dash?: number[]
}

export interface ToleranceLine {
  value: number
  label: string
  /** the side that holds: above (>=, >) or below (<, <=) the line */
  holds: 'above' | 'below'
}

export interface ChartSpec {
  id: string
  probe: string
  title: string
  unit: ChartUnit
  /** seconds on the run clock */
  x: number[]
  lines: ChartLine[]
  tolerances: ToleranceLine[]
  /** states (0/1) and samples drawn as steps */
  step: boolean
  /** join points across missing values (charts that overlay two runs) */
  spanGaps?: boolean
  /** x is a Unix time in seconds (trends across runs), not the run clock */
  xTime?: boolean
  /** charts of one group share cursor and zoom (default: the run clock) */
  group?: string
  height?: number
  xLabel?: string
}

const STATES = new Set(['healthy', 'routesFull', 'fullMesh', 'open'])
const PER_SECOND = new Set(['requests', 'ok', 'errors', 'retryable', 'failed', 'lost', 'hung', 'timedOut', 'rps'])

export function seriesUnit(key: string): ChartUnit {
  if (STATES.has(key)) return 'state'
  if (/rate|ratio/i.test(key)) return 'ratio'
  if (/^p\d+$|latency|ms$|Ms$/i.test(key)) return 'ms'
  if (PER_SECOND.has(key)) return 'per-second'
  return 'count'
}

const TITLES: Record<ChartUnit, string> = {
  ratio: 'success rate',
  ms: 'latency',
  'per-second': 'requests per second',
  count: '',
  state: 'state (1 = yes)',
  score: 'resilience score',
}
const ORDER: ChartUnit[] = ['ratio', 'ms', 'per-second', 'count', 'state']

/** Tolerances of a numeric metric the chart shows, as horizontal lines. */
function toleranceLines(p: ProbeVerdict, keys: string[]): ToleranceLine[] {
  const out: ToleranceLine[] = []
  for (const t of p.tolerances) {
    if (!keys.includes(t.metric) || typeof t.expected !== 'number') continue
    let op: string
    try {
      op = parseTolerance(t.tolerance).op
    } catch {
      // a tolerance the journal recorded but this version cannot parse: nothing to draw, the table still shows it
      continue
    }
    if (op === '==' || op === '!=') continue
    out.push({ value: t.expected, label: `${t.tolerance} (over the whole probe)`, holds: op.startsWith('>') ? 'above' : 'below' })
  }
  return out
}

/** Every chart of one probe's series. */
export function probeCharts(p: ProbeVerdict, index: number): ChartSpec[] {
  const points = p.series ?? []
  if (points.length < 2 || p.startedT === undefined) return []
  const t0 = p.startedT / 1000
  // per-second buckets (t = 0, 1, 2 …) are drawn at their middle; samples at their time
  const buckets = points.every((s, i) => s.t === i)
  const x = points.map((s) => Math.round((t0 + s.t + (buckets ? 0.5 : 0)) * 1000) / 1000)
  const keys = [...new Set(points.flatMap((s) => Object.keys(s)))].filter((k) => k !== 't' && points.some((s) => typeof s[k] === 'number'))
  const groups = new Map<ChartUnit, string[]>()
  for (const k of keys) groups.set(seriesUnit(k), [...(groups.get(seriesUnit(k)) ?? []), k])
  // counts with nothing in common get a chart each; the others share one per unit
  const charts: [ChartUnit, string[]][] = []
  for (const unit of ORDER) {
    const ks = groups.get(unit)
    if (!ks) continue
    if (unit === 'count') for (const k of ks) charts.push([unit, [k]])
    else charts.push([unit, ks])
  }
  return charts.map(([unit, ks], i) => ({
    id: `c${index}-${i}`,
    probe: p.name,
    title: TITLES[unit] || ks.join(', '),
    unit,
    x,
    lines: ks.map((k) => ({ key: k, label: k, values: points.map((s) => (typeof s[k] === 'number' && Number.isFinite(s[k]) ? s[k] : null)) })),
    tolerances: toleranceLines(p, ks),
    step: unit === 'state' || !buckets,
  }))
}

/** The charts of every probe that ran through the method. */
export function runCharts(r: RunResult): ChartSpec[] {
  return r.probes.filter((p) => p.phase === 'during' || p.phase === 'method').flatMap((p, i) => probeCharts(p, i))
}
