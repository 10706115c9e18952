/**
 * Open-loop load at a constant arrival rate. Request i is due at t0 + i/rate whatever happened
 * to earlier requests, and its latency is measured from that intended start — so a stall in
 * the system shows up as latency instead of as fewer requests (no coordinated omission).
 * Latencies go into HDR histograms: one for the whole run and one per second for the series.
 *
 * The generator also watches itself. Each request's schedule lag (actual send − intended send)
 * and the process's event-loop delay say how late the runner was: a busy machine makes both
 * grow, and then the latencies it records are the runner's, not the system's. When the runner
 * was persistently late — the 90th percentile of either over the whole measurement past
 * `runnerBound` (a single GC pause or a slow second does not count) — `untrustedBecause()` says
 * why the latency figures cannot be trusted; the probe turns that into an inconclusive verdict.
 */
import * as hdr from 'hdr-histogram-js'
import type { Metrics, SeriesPoint, MetricSpecs } from '../api/probe.ts'
import { EventLoopDelay } from './runner-delay.ts'

/** What OpenLoopLoad reports (metrics() at the end, lastSecond() live), for probes built on it to declare. */
export const LOAD_METRICS: MetricSpecs = {
  requests: { unit: 'count', description: 'requests completed' },
  ok: { unit: 'count', description: 'requests that succeeded' },
  errors: { unit: 'count', description: 'requests that failed' },
  'errors.*': { unit: 'count', description: 'failures by class (errors.timeout, errors.http-503, errors.refused, ...)' },
  successRate: { unit: 'ratio', description: 'ok / requests' },
  targetRate: { unit: 'per-second', description: 'the rate asked for' },
  achievedRate: { unit: 'per-second', description: 'requests completed per second' },
  p50: { unit: 'ms', description: 'median latency of successful requests' },
  p90: { unit: 'ms', description: '90th percentile latency' },
  p99: { unit: 'ms', description: '99th percentile latency' },
  p999: { unit: 'ms', description: '99.9th percentile latency' },
  max: { unit: 'ms', description: 'slowest successful request' },
  mean: { unit: 'ms', description: 'mean latency' },
  rps: { unit: 'per-second', description: 'live: requests in the last second' },
  inFlight: { unit: 'count', description: 'live: requests awaiting an answer' },
  scheduleLagP90: { unit: 'ms', description: "the runner's own lateness: 90th percentile of actual − intended send time" },
  scheduleLagMax: { unit: 'ms', description: 'the latest a request left after its intended send time' },
  loopDelayP90: { unit: 'ms', description: "90th percentile of the runner's event-loop delay through the measurement" },
  loopDelayMax: { unit: 'ms', description: "the runner's longest event-loop delay" },
  runnerBusySeconds: { unit: 'count', description: 'seconds in which the runner was later than its bound (schedule lag or event-loop delay p90)' },
}

/**
 * Default bound on the runner's own lateness (p90 of schedule lag or of event-loop delay) past
 * which its latencies are not trusted. Measured on 2 cores: a quiet runner ~3 ms; with two
 * CPU-bound processes beside it ~11 ms; with four ~30–40 ms.
 */
export const DEFAULT_RUNNER_BOUND_MS = 20

export interface Outcome {
  ok: boolean
  /** short class for errors: http-503, http-504, timeout, refused, reset, no-responders, ... */
  errorClass?: string
}

export interface OpenLoopOptions {
  /** requests per second */
  rate: number
  /** sends one request; must settle by itself (its own timeout) */
  send: (seq: number) => Promise<Outcome>
  /** cap on requests in flight; past it a due request is counted as `client-overload` */
  maxInFlight?: number
  /** ms: past this p90 of schedule lag or event-loop delay the runner's latencies are not trusted (default 20) */
  runnerBound?: number
}

function histogram(): hdr.Histogram {
  // microseconds, 1 µs to 10 min, 3 significant digits
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false })
}

interface Bucket {
  ok: number
  errors: number
  hist: hdr.Histogram
  /** requests sent in this second, and how many of them left later than the runner bound */
  sent: number
  late: number
  lagMax: number
  /** the event-loop delay over this second (p90), once the second is over */
  loopP90?: number
}

export class OpenLoopLoad {
  private readonly total = histogram()
  private readonly buckets: Bucket[] = []
  private readonly errorClasses = new Map<string, number>()
  private t0 = 0
  private issued = 0
  private completed = 0
  private ok = 0
  private inFlight = 0
  private running = false
  private timer: NodeJS.Timeout | undefined
  private readonly pending = new Set<Promise<void>>()
  private stoppedAt = 0
  /** schedule lag of every request sent, µs */
  private readonly lag = histogram()
  private readonly loop = new EventLoopDelay()
  private loopTimer: NodeJS.Timeout | undefined
  private readonly bound: number

  constructor(private readonly opts: OpenLoopOptions) {
    if (!(opts.rate > 0)) throw new Error('rate must be > 0')
    this.bound = opts.runnerBound ?? DEFAULT_RUNNER_BOUND_MS
  }

  start(): void {
    this.t0 = performance.now()
    this.running = true
    this.loop.start()
    // the loop's delay per second of the run, for the series and the busy seconds
    this.loopTimer = setInterval(() => {
      const second = Math.floor((performance.now() - this.t0) / 1000) - 1
      if (second >= 0) this.bucket(second).loopP90 = this.loop.takeWindow().p90
    }, 1000)
    this.tick()
  }

  private bucket(second: number): Bucket {
    while (this.buckets.length <= second) this.buckets.push({ ok: 0, errors: 0, hist: histogram(), sent: 0, late: 0, lagMax: 0 })
    return this.buckets[second]
  }

  /** How late request `intended` leaves at `now`: the runner's own delay, not the system's. */
  private recordLag(intended: number, now: number): void {
    const lateMs = Math.max(0, now - intended)
    this.lag.recordValue(Math.min(Math.max(1, Math.round(lateMs * 1000)), 600_000_000))
    const b = this.bucket(Math.max(0, Math.floor((intended - this.t0) / 1000)))
    b.sent++
    if (lateMs > this.bound) b.late++
    b.lagMax = Math.max(b.lagMax, lateMs)
  }

  private tick = (): void => {
    if (!this.running) return
    const now = performance.now()
    const due = Math.floor(((now - this.t0) * this.opts.rate) / 1000) + 1
    const cap = this.opts.maxInFlight ?? Math.max(1000, this.opts.rate * 10)
    while (this.issued < due) {
      const seq = this.issued++
      const intended = this.t0 + (seq * 1000) / this.opts.rate
      this.recordLag(intended, performance.now())
      if (this.inFlight >= cap) {
        this.record(intended, now, { ok: false, errorClass: 'client-overload' })
        continue
      }
      this.inFlight++
      const p: Promise<void> = this.opts
        .send(seq)
        .catch((err): Outcome => ({ ok: false, errorClass: (err as Error).name || 'error' }))
        .then((outcome) => {
          this.inFlight--
          this.record(intended, performance.now(), outcome)
        })
        .finally(() => this.pending.delete(p))
      this.pending.add(p)
    }
    const next = this.t0 + (this.issued * 1000) / this.opts.rate
    this.timer = setTimeout(this.tick, Math.max(0, Math.min(50, next - performance.now())))
  }

  private record(intended: number, done: number, outcome: Outcome): void {
    this.completed++
    const micros = Math.max(1, Math.round((done - intended) * 1000))
    const b = this.bucket(Math.max(0, Math.floor((intended - this.t0) / 1000)))
    if (outcome.ok) {
      this.ok++
      b.ok++
      this.total.recordValue(Math.min(micros, 600_000_000))
      b.hist.recordValue(Math.min(micros, 600_000_000))
    } else {
      b.errors++
      const cls = outcome.errorClass ?? 'error'
      this.errorClasses.set(cls, (this.errorClasses.get(cls) ?? 0) + 1)
    }
  }

  /** Stops issuing and waits for requests in flight to settle (they carry their own timeouts). */
  async stop(): Promise<void> {
    this.running = false
    clearTimeout(this.timer)
    clearInterval(this.loopTimer)
    this.stoppedAt = performance.now()
    await Promise.allSettled([...this.pending])
    this.loop.stop()
  }

  /** Seconds in which the runner was later than its bound: over 10 % of sends late, or the loop's p90 over it. */
  private busySeconds(): number[] {
    return this.buckets.flatMap((b, t) => ((b.sent && b.late / b.sent > 0.1) || (b.loopP90 ?? 0) > this.bound ? [t] : []))
  }

  /**
   * Why this run's latencies measure the runner rather than the system, if they do: the p90 of
   * the schedule lag or of the event-loop delay over the whole measurement exceeded the bound.
   * Empty when the runner kept up.
   */
  untrustedBecause(): string[] {
    const lagP90 = this.lag.totalCount ? this.lag.getValueAtPercentile(90) / 1000 : 0
    const loop = this.loop.total()
    const busy = this.busySeconds()
    const over: string[] = []
    if (lagP90 > this.bound) over.push(`10 % of its requests left over ${Math.round(lagP90)}ms after their intended time (schedule lag p90)`)
    if (loop.p90 > this.bound) over.push(`its event loop ran ${Math.round(loop.p90)}ms late at p90 (max ${Math.round(loop.max)}ms)`)
    if (!over.length) return []
    const where = busy.length ? `; late in ${busy.length} of ${this.buckets.length} s (from t=${busy[0]}s)` : ''
    return [
      `the runner itself was overloaded — ${over.join(', ')}, above the ${this.bound}ms bound${where}: latencies measured there are the runner's, not the system's`,
    ]
  }

  metrics(): Metrics {
    const elapsed = ((this.stoppedAt || performance.now()) - this.t0) / 1000
    const errors = this.completed - this.ok
    const ms = (us: number) => us / 1000
    const m: Metrics = {
      requests: this.completed,
      ok: this.ok,
      errors,
      successRate: this.completed ? this.ok / this.completed : NaN,
      targetRate: this.opts.rate,
      achievedRate: elapsed > 0 ? this.completed / elapsed : 0,
      p50: this.ok ? ms(this.total.getValueAtPercentile(50)) : NaN,
      p90: this.ok ? ms(this.total.getValueAtPercentile(90)) : NaN,
      p99: this.ok ? ms(this.total.getValueAtPercentile(99)) : NaN,
      p999: this.ok ? ms(this.total.getValueAtPercentile(99.9)) : NaN,
      max: this.ok ? ms(this.total.maxValue) : NaN,
      mean: this.ok ? ms(this.total.mean) : NaN,
    }
    const loop = this.loop.total()
    m.scheduleLagP90 = this.lag.totalCount ? ms(this.lag.getValueAtPercentile(90)) : 0
    m.scheduleLagMax = this.lag.totalCount ? ms(this.lag.maxValue) : 0
    m.loopDelayP90 = loop.p90
    m.loopDelayMax = loop.max
    m.runnerBusySeconds = this.busySeconds().length
    for (const [cls, n] of this.errorClasses) m[`errors.${cls}`] = n
    return m
  }

  /** Live figures over the last complete second (for progress output and guardrails). */
  lastSecond(): Metrics {
    const second = Math.floor((performance.now() - this.t0) / 1000) - 1
    const b = second >= 0 ? this.buckets[second] : undefined
    if (!b) return { rps: 0, successRate: NaN, p99: NaN }
    const n = b.ok + b.errors
    return { rps: n, successRate: n ? b.ok / n : NaN, p99: b.ok ? b.hist.getValueAtPercentile(99) / 1000 : NaN, inFlight: this.inFlight }
  }

  series(): SeriesPoint[] {
    return this.buckets.map((b, t) => {
      const n = b.ok + b.errors
      return {
        t,
        requests: n,
        ok: b.ok,
        errors: b.errors,
        successRate: n ? b.ok / n : 1,
        p50: b.ok ? b.hist.getValueAtPercentile(50) / 1000 : 0,
        p99: b.ok ? b.hist.getValueAtPercentile(99) / 1000 : 0,
        // the runner's own lateness that second
        scheduleLagMax: Math.round(b.lagMax * 10) / 10,
        loopDelayP90: Math.round((b.loopP90 ?? 0) * 10) / 10,
      }
    })
  }
}
