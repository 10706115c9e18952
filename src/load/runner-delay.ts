/**
 * How late the runner itself is: the event-loop delay of this process (perf_hooks), the thing
 * that stands between a response arriving and its latency being recorded. A latency measured by
 * a runner whose loop is 200 ms late measures the runner; the load generator reads this to say
 * when its own figures are not to be trusted.
 *
 * `monitorEventLoopDelay` records the interval between its timer's runs, so an idle loop reads
 * about its resolution; the delay is what exceeds it.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'

const RESOLUTION_MS = 10

export interface DelayFigures {
  /** 90th and 99th percentile of the loop's delay, ms */
  p90: number
  p99: number
  /** the longest delay seen, ms */
  max: number
}

const figures = (h: IntervalHistogram): DelayFigures => {
  if (h.count === 0) return { p90: 0, p99: 0, max: 0 }
  const excess = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS)
  return { p90: excess(h.percentile(90)), p99: excess(h.percentile(99)), max: excess(h.max) }
}

export class EventLoopDelay {
  private readonly whole = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
  private readonly window = monitorEventLoopDelay({ resolution: RESOLUTION_MS })

  start(): void {
    this.whole.enable()
    this.window.enable()
  }

  /** The delay since the previous call (or the start), and a fresh window after it. */
  takeWindow(): DelayFigures {
    const f = figures(this.window)
    this.window.reset()
    return f
  }

  /** The delay over the whole measurement. */
  total(): DelayFigures {
    return figures(this.whole)
  }

  stop(): void {
    this.whole.disable()
    this.window.disable()
  }
}
